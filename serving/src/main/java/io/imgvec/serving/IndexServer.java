package io.imgvec.serving;

import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.index.PublishedIndex;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.hadoop.conf.Configuration;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code imgvec serve}: the query server over a published index, following its {@code LATEST}. Jetty 12 with core
 * handlers (no servlet layer): searches are CPU-bound and sub-millisecond, so what matters is little work per
 * request and a small, fixed pool of threads; Jetty's connector reads and writes with NIO selectors and runs each
 * request on a pooled thread.
 */
public final class IndexServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(IndexServer.class);

  private final Server server;
  private final IndexHolder holder;
  private final ExecutorService imageWork;

  private IndexServer(Server server, IndexHolder holder, ExecutorService imageWork) {
    this.server = server;
    this.holder = holder;
    this.imageWork = imageWork;
  }

  /** Loads the index version LATEST names (failing if it cannot), then listens on {@code host:port} (0: any). */
  public static IndexServer start(String indexUri, String host, int port, ImgvecConfig config,
      Configuration hadoopConf) throws Exception {
    ServerMetrics metrics = new ServerMetrics();
    Path cache = Files.createTempDirectory("imgvec-serve-");
    IndexHolder holder = new IndexHolder(indexUri, hadoopConf, cache,
        new PublishedIndex.LoadOptions(config.get(ConfigKeys.SERVE_MMAP), true), metrics);
    holder.start(config.get(ConfigKeys.SERVE_POLL_SECONDS));
    int cores = Runtime.getRuntime().availableProcessors();
    int threads = config.get(ConfigKeys.SERVE_THREADS) > 0 ? config.get(ConfigKeys.SERVE_THREADS) : 8 * cores;
    ExecutorService imageWork = Executors.newFixedThreadPool(cores, r -> {
      Thread t = new Thread(r, "imgvec-image-query");
      t.setDaemon(true);
      return t;
    });
    // Jetty's own selector and acceptor threads come on top of the request threads.
    QueuedThreadPool pool = new QueuedThreadPool(threads + 4, Math.min(threads + 4, 8));
    pool.setName("imgvec-serve");
    Server server = new Server(pool);
    ServerConnector connector = new ServerConnector(server, 1, 1);
    connector.setHost(host);
    connector.setPort(port);
    server.addConnector(connector);
    SearchApi api = new SearchApi(holder, config, hadoopConf, config.get(ConfigKeys.SERVE_MAX_BATCH));
    server.setHandler(new HttpFront(api, metrics, imageWork, config.get(ConfigKeys.SERVE_MAX_BODY_BYTES),
        config.get(ConfigKeys.SERVE_TIMEOUT_MS)));
    server.start();
    LOG.info("listening on http://{}:{}", host, connector.getLocalPort());
    return new IndexServer(server, holder, imageWork);
  }

  /** The port listened on (the chosen one when started with port 0). */
  public int port() {
    return ((ServerConnector) server.getConnectors()[0]).getLocalPort();
  }

  /** Checks LATEST now instead of at the next poll; true if a new version was swapped in. */
  public boolean reloadNow() {
    return holder.poll();
  }

  public void join() throws InterruptedException {
    server.join();
  }

  @Override
  public void close() throws Exception {
    server.stop();
    imageWork.shutdownNow();
    holder.close();
  }
}
