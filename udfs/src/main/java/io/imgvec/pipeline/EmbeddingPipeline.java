package io.imgvec.pipeline;

import io.imgvec.image.ImageDecoder;
import io.imgvec.image.ImageError;
import io.imgvec.image.ImagePreprocessor;
import io.imgvec.image.ImageTensor;
import io.imgvec.io.Digests;
import io.imgvec.model.Embedder;
import io.imgvec.model.InferenceSession;
import io.imgvec.util.Exceptions;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Embeds a stream of images in order: worker threads read and decode ahead (up to a few batches) while the calling
 * thread runs batched inference, so the model does not wait on I/O. Every input yields exactly one result, an
 * embedding or an {@link ImageError}. The input iterator is only touched by the calling thread.
 */
public final class EmbeddingPipeline<T> implements AutoCloseable {

  /** One image to embed; {@code payload} travels to the result untouched. */
  public record Item<T>(T payload, String uri) {}

  /** A successful embedding with the facts of its source image. */
  public record Embedding(float[] vector, String contentSha256, int width, int height) {}

  /** Exactly one of {@code embedding} and {@code error} is set. */
  public record Result<T>(T payload, String uri, Embedding embedding, ImageError error) {}

  private record Prepared<T>(Item<T> item, float[] tensor, String sha256, int width, int height, ImageError error) {}

  private final InferenceSession session;
  private final ImageFetcher fetcher;
  private final ImageDecoder decoder;
  private final ImagePreprocessor preprocessor;
  private final int batchSize;
  private final int lookahead;
  private final StageTimes times;
  private final ExecutorService workers;
  /** Reused for every batch; only the calling thread runs inference. */
  private final float[] batchBuffer;
  /** Images the model embedded and failed on; only the calling thread counts. */
  private long embedded;
  private long inferenceFailures;
  private Exception lastInferenceFailure;

  public EmbeddingPipeline(Embedder embedder, ImageFetcher fetcher, ImageDecoder decoder, int batchSize,
      int decodeThreads, int prefetchBatches, StageTimes times) {
    this(embedder.newSession(), embedder.spec().preprocessor(), fetcher, decoder, batchSize, decodeThreads,
        prefetchBatches, times);
  }

  /** Runs {@code session} (closed with the pipeline) on tensors made by {@code preprocessor}. */
  public EmbeddingPipeline(InferenceSession session, ImagePreprocessor preprocessor, ImageFetcher fetcher,
      ImageDecoder decoder, int batchSize, int decodeThreads, int prefetchBatches, StageTimes times) {
    this.session = session;
    this.fetcher = fetcher;
    this.decoder = decoder;
    this.preprocessor = preprocessor;
    this.batchSize = batchSize;
    this.lookahead = batchSize * (prefetchBatches + 1);
    this.times = times;
    this.batchBuffer = new float[batchSize * preprocessor.tensorLength()];
    this.workers = Executors.newFixedThreadPool(decodeThreads, r -> {
      Thread t = new Thread(r, "imgvec-decode");
      t.setDaemon(true);
      return t;
    });
  }

  public Iterator<Result<T>> run(Iterator<Item<T>> items) {
    return new Iterator<>() {
      private final ArrayDeque<Future<Prepared<T>>> pending = new ArrayDeque<>();
      private final ArrayDeque<Result<T>> ready = new ArrayDeque<>();

      @Override
      public boolean hasNext() {
        if (ready.isEmpty()) {
          topUp(items, pending);
          if (!pending.isEmpty()) {
            embedNextBatch(items, pending, ready);
          } else {
            requireModelWorked();
          }
        }
        return !ready.isEmpty();
      }

      @Override
      public Result<T> next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        return ready.poll();
      }
    };
  }

  private void topUp(Iterator<Item<T>> items, ArrayDeque<Future<Prepared<T>>> pending) {
    while (pending.size() < lookahead && items.hasNext()) {
      Item<T> item = items.next();
      pending.add(workers.submit(() -> prepare(item)));
    }
  }

  private void embedNextBatch(Iterator<Item<T>> items, ArrayDeque<Future<Prepared<T>>> pending,
      ArrayDeque<Result<T>> ready) {
    List<Prepared<T>> batch = new ArrayList<>(batchSize);
    long waitStart = System.nanoTime();
    while (batch.size() < batchSize && !pending.isEmpty()) {
      batch.add(await(pending.poll()));
    }
    times.inferenceWaitNanos.add(System.nanoTime() - waitStart);
    topUp(items, pending); // keep the workers busy while this batch is inferred
    List<Prepared<T>> decoded = batch.stream().filter(p -> p.error() == null).toList();
    Inferred[] outcomes = decoded.isEmpty() ? new Inferred[0] : infer(decoded);
    int next = 0;
    for (Prepared<T> p : batch) {
      if (p.error() != null) {
        ready.add(new Result<>(p.item().payload(), p.item().uri(), null, p.error()));
        continue;
      }
      Inferred out = outcomes[next++];
      if (out.failure() != null) {
        inferenceFailures++;
        lastInferenceFailure = out.failure();
        ready.add(new Result<>(p.item().payload(), p.item().uri(), null, new ImageError("inference", "inference_failed",
            "model failed on this image: " + Exceptions.firstLine(out.failure()), out.failure())));
      } else {
        embedded++;
        ready.add(new Result<>(p.item().payload(), p.item().uri(),
            new Embedding(out.vector(), p.sha256(), p.width(), p.height()), null));
      }
    }
  }

  /** One image's inference outcome: its vector, or why the model failed on it alone. */
  private record Inferred(float[] vector, Exception failure) {}

  /** Runs the batch; if the model fails on it, retries one by one so only the offending images become errors. */
  private Inferred[] infer(List<Prepared<T>> decoded) {
    Inferred[] out = new Inferred[decoded.size()];
    try {
      float[][] vectors = inferBatch(decoded);
      for (int i = 0; i < out.length; i++) {
        out[i] = new Inferred(vectors[i], null);
      }
    } catch (Exception batchFailure) {
      if (decoded.size() == 1) {
        out[0] = new Inferred(null, batchFailure);
      } else {
        for (int i = 0; i < out.length; i++) {
          out[i] = infer(List.of(decoded.get(i)))[0];
        }
      }
    }
    return out;
  }

  /**
   * Called when the input is exhausted: if the model failed on every image it was given, the model is broken, not
   * the images, and the caller's task must fail with the engine's message.
   */
  private void requireModelWorked() {
    if (inferenceFailures > 0 && embedded == 0) {
      throw new ModelFailedException("the model failed on all " + inferenceFailures + " images of this task: "
          + Exceptions.firstLine(lastInferenceFailure), lastInferenceFailure);
    }
  }

  private float[][] inferBatch(List<Prepared<T>> decoded) throws Exception {
    int len = preprocessor.tensorLength();
    for (int i = 0; i < decoded.size(); i++) {
      System.arraycopy(decoded.get(i).tensor(), 0, batchBuffer, i * len, len);
    }
    long start = System.nanoTime();
    float[][] vectors = session.embed(batchBuffer, decoded.size());
    times.inferenceNanos.add(System.nanoTime() - start);
    return vectors;
  }

  private Prepared<T> await(Future<Prepared<T>> future) {
    try {
      return future.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for decoded images", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("decode worker failed unexpectedly", e.getCause());
    }
  }

  private Prepared<T> prepare(Item<T> item) {
    long start = System.nanoTime();
    byte[] bytes;
    try {
      bytes = fetcher.fetch(item.uri());
    } catch (ImageError e) {
      return new Prepared<>(item, null, null, 0, 0, e);
    } finally {
      times.readNanos.add(System.nanoTime() - start);
    }
    long decodeStart = System.nanoTime();
    try {
      ImageTensor image = ImageTensor.of(bytes, decoder, preprocessor);
      return new Prepared<>(item, image.tensor(), Digests.sha256(bytes), image.width(), image.height(), null);
    } catch (ImageError e) {
      return new Prepared<>(item, null, null, 0, 0, e);
    } catch (RuntimeException e) { // one image's failure, whatever it is, is that image's error row
      return failed(item, "decode", "decode_failed", e);
    } finally {
      times.decodeNanos.add(System.nanoTime() - decodeStart);
    }
  }

  private static <T> Prepared<T> failed(Item<T> item, String stage, String errorClass, RuntimeException e) {
    return new Prepared<>(item, null, null, 0, 0, new ImageError(stage, errorClass, "cannot " + stage + " "
        + item.uri() + ": " + Exceptions.firstLine(e), e));
  }

  @Override
  public void close() {
    workers.shutdownNow();
    session.close();
  }
}
