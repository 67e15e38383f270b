package io.imgvec.serving;

import io.imgvec.faiss.FaissIndex;
import io.imgvec.io.Json;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * HTTP in front of {@link SearchApi}: routing, body size cap, per-request timeout, JSON responses and metrics.
 * Searches run on Jetty's request thread (they take well under a millisecond); image queries, which decode and run
 * the model, run on a separate pool so a slow one can be answered with 503 at the timeout.
 */
final class HttpFront extends Handler.Abstract {
  private static final Logger LOG = LoggerFactory.getLogger(HttpFront.class);
  /** The paths served (metrics label every other path "other"). */
  static final List<String> ENDPOINTS = List.of("/search", "/search/image", "/search/batch", "/healthz", "/readyz",
      "/metrics");
  private static final String JSON = "application/json";
  /** libgomp keeps OpenMP settings per thread: each request thread searches single-threaded (latency, not batch). */
  private static final ThreadLocal<Boolean> FAISS_THREADS_SET = ThreadLocal.withInitial(() -> {
    FaissIndex.setThreads(1);
    return true;
  });

  private final SearchApi api;
  private final ServerMetrics metrics;
  private final ExecutorService imageWork;
  private final long maxBodyBytes;
  private final long timeoutNanos;
  /** Null: no authentication. */
  private final BearerAuth auth;
  private final boolean authMetrics;

  HttpFront(SearchApi api, ServerMetrics metrics, ExecutorService imageWork, long maxBodyBytes, long timeoutMillis,
      BearerAuth auth, boolean authMetrics) {
    this.api = api;
    this.metrics = metrics;
    this.imageWork = imageWork;
    this.maxBodyBytes = maxBodyBytes;
    this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    this.auth = auth;
    this.authMetrics = authMetrics;
  }

  private record Reply(int status, String contentType, byte[] body) {
    static Reply json(int status, Object value) {
      return new Reply(status, JSON, Json.line(value).getBytes(StandardCharsets.UTF_8));
    }
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    long start = System.nanoTime();
    String path = Request.getPathInContext(request);
    String endpoint = ENDPOINTS.contains(path) ? path : "other";
    Reply reply;
    try {
      reply = route(request, path, start);
    } catch (RequestException e) {
      reply = Reply.json(e.status(), Map.of("error", e.getMessage()));
      if (e.status() == 401) {
        response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer");
      }
    } catch (Exception | OutOfMemoryError e) {
      LOG.error("request {} {} failed", request.getMethod(), path, e);
      reply = Reply.json(500, Map.of("error", "internal error: " + e.getClass().getSimpleName()));
    }
    Reply answer = reply;
    afterBody(request, () -> send(answer, response, callback, endpoint, start));
    return true;
  }

  private void send(Reply reply, Response response, Callback callback, String endpoint, long start) {
    response.setStatus(reply.status());
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, reply.contentType());
    response.write(true, ByteBuffer.wrap(reply.body()), callback);
    metrics.observe(endpoint, reply.status(), start);
  }

  /**
   * Runs {@code answer} once what is left of the request's body (within the cap) has arrived, read and dropped as it
   * comes, no thread waiting for it: a refusal comes before the body is read, and a server that answers and closes
   * while the client is still sending resets the connection, so the client never sees the answer. A body read
   * already ends at once; one declared over the cap is not waited for.
   */
  private void afterBody(Request request, Runnable answer) {
    if (request.getLength() > maxBodyBytes) {
      answer.run();
      return;
    }
    new Runnable() {
      private long left = maxBodyBytes + 1;

      @Override
      public void run() {
        while (true) {
          Content.Chunk chunk = request.read();
          if (chunk == null) {
            request.demand(this);
            return;
          }
          left -= chunk.remaining();
          chunk.release();
          if (chunk.isLast() || Content.Chunk.isFailure(chunk) || left <= 0) {
            answer.run();
            return;
          }
        }
      }
    }.run();
  }

  private Reply route(Request request, String path, long start) throws Exception {
    FAISS_THREADS_SET.get();
    requireToken(request, path);
    String method = request.getMethod();
    switch (path) {
      case "/healthz" -> {
        requireMethod(method, "GET");
        return Reply.json(200, Map.of("status", "alive"));
      }
      case "/readyz" -> {
        requireMethod(method, "GET");
        return Reply.json(200, api.ready());
      }
      case "/metrics" -> {
        requireMethod(method, "GET");
        return new Reply(200, ServerMetrics.CONTENT_TYPE, metrics.scrape());
      }
      case "/search" -> {
        requireMethod(method, "POST");
        byte[] body = body(request);
        checkDeadline(request, start);
        return answeredInTime(request, start, api.search(body));
      }
      case "/search/batch" -> {
        requireMethod(method, "POST");
        byte[] body = body(request);
        checkDeadline(request, start);
        return answeredInTime(request, start, api.searchBatch(body));
      }
      case "/search/image" -> {
        requireMethod(method, "POST");
        byte[] body = body(request);
        String k = Request.extractQueryParameters(request).getValue("k");
        return Reply.json(200, withinDeadline(request, start, () -> api.searchImage(body, k)));
      }
      default -> throw new RequestException(404, "no endpoint " + path + "; endpoints: POST /search,"
          + " POST /search/image, POST /search/batch, GET /healthz, GET /readyz, GET /metrics");
    }
  }

  /** Paths that need a token when authentication is on: the searches, and /metrics if so configured. */
  private void requireToken(Request request, String path) throws RequestException {
    boolean guarded = path.startsWith("/search") || authMetrics && path.equals("/metrics")
        || !ENDPOINTS.contains(path); // unknown paths too: their 404 would map the API for anyone
    if (auth != null && guarded && !auth.accepts(request.getHeaders().get(HttpHeader.AUTHORIZATION))) {
      throw new RequestException(401, "missing or invalid bearer token (Authorization: Bearer <token>)");
    }
  }

  /** A search that ran past the deadline is answered 503 like one that never started, and counted. */
  private Reply answeredInTime(Request request, long start, Map<String, Object> answer) throws RequestException {
    checkDeadline(request, start);
    return Reply.json(200, answer);
  }

  private interface Work {
    Map<String, Object> run() throws RequestException;
  }

  private Map<String, Object> withinDeadline(Request request, long start, Work work) throws Exception {
    long left = timeoutNanos - elapsed(request, start);
    Future<Map<String, Object>> result = imageWork.submit(work::run);
    try {
      return result.get(Math.max(0, left), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      result.cancel(true);
      throw timedOut();
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception cause ? cause : e;
    }
  }

  private void checkDeadline(Request request, long start) throws RequestException {
    if (elapsed(request, start) > timeoutNanos) {
      throw timedOut();
    }
  }

  /** Since the request arrived (queueing for a thread included). */
  private static long elapsed(Request request, long start) {
    return System.nanoTime() - Math.min(start, request.getBeginNanoTime());
  }

  private RequestException timedOut() {
    metrics.deadlineExceeded();
    return new RequestException(503, "not answered within " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos)
        + " ms (serve.request-timeout-ms)");
  }

  private byte[] body(Request request) throws RequestException, IOException {
    long declared = request.getLength();
    if (declared > maxBodyBytes) {
      throw tooLarge(declared);
    }
    try (InputStream in = Content.Source.asInputStream(request)) {
      byte[] body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBodyBytes + 1));
      if (body.length > maxBodyBytes) {
        throw tooLarge(-1);
      }
      return body;
    }
  }

  private RequestException tooLarge(long declared) {
    return new RequestException(413, "request body " + (declared > 0 ? "of " + declared + " bytes " : "")
        + "is over the limit of " + maxBodyBytes + " bytes (serve.max-body-bytes)");
  }

  private static void requireMethod(String method, String allowed) throws RequestException {
    if (!method.equals(allowed)) {
      throw new RequestException(405, "use " + allowed);
    }
  }
}
