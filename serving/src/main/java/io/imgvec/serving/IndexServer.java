package io.imgvec.serving;

import io.imgvec.config.ConfigException;
import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.published.PublishedIndex;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.hadoop.conf.Configuration;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
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
        new PublishedIndex.LoadOptions(config.get(ConfigKeys.SERVE_MMAP), true), modelRule(config), metrics);
    holder.start(config.get(ConfigKeys.SERVE_POLL_SECONDS));
    int cores = Runtime.getRuntime().availableProcessors();
    int threads = config.get(ConfigKeys.SERVE_THREADS) > 0 ? config.get(ConfigKeys.SERVE_THREADS) : 8 * cores;
    int decodes = config.get(ConfigKeys.SERVE_MAX_CONCURRENT_DECODES);
    ExecutorService imageWork = Executors.newFixedThreadPool(decodes > 0 ? decodes : cores, r -> {
      Thread t = new Thread(r, "imgvec-image-query");
      t.setDaemon(true);
      return t;
    });
    // Jetty's own selector and acceptor threads come on top of the request threads.
    QueuedThreadPool pool = new QueuedThreadPool(threads + 4, Math.min(threads + 4, 8));
    pool.setName("imgvec-serve");
    Server server = new Server(pool);
    String keystore = config.get(ConfigKeys.SERVE_TLS_KEYSTORE);
    ServerConnector connector = keystore.isEmpty() ? new ServerConnector(server, 1, 1)
        : new ServerConnector(server, 1, 1, tls(keystore, config.get(ConfigKeys.SERVE_TLS_KEYSTORE_PASSWORD_FILE)),
            new HttpConnectionFactory());
    connector.setHost(host);
    connector.setPort(port);
    server.addConnector(connector);
    SearchApi api = new SearchApi(holder, config, hadoopConf);
    String tokens = config.get(ConfigKeys.SERVE_AUTH_TOKEN_FILE);
    server.setHandler(new HttpFront(api, metrics, imageWork, config.get(ConfigKeys.SERVE_MAX_BODY_BYTES),
        config.get(ConfigKeys.SERVE_TIMEOUT_MS), tokens.isEmpty() ? null : BearerAuth.fromFile(tokens),
        config.get(ConfigKeys.SERVE_AUTH_METRICS)));
    try {
      server.start();
    } catch (IOException e) { // a keystore that cannot be opened (wrong password, not PKCS12) or a port in use
      server.stop();
      throw new ConfigException("cannot listen on " + host + ":" + port + ": " + e.getMessage());
    }
    LOG.info("listening on {}://{}:{}{}", keystore.isEmpty() ? "http" : "https", host, connector.getLocalPort(),
        tokens.isEmpty() ? "" : " (bearer tokens required for /search*)");
    return new IndexServer(server, holder, imageWork);
  }

  /**
   * Unless serve.model-from-index, a version whose manifest names another model.uri than the server's is refused:
   * whoever writes the bucket must not choose what the server loads and runs.
   */
  private static IndexHolder.VersionRule modelRule(ImgvecConfig config) {
    String own = config.get(ConfigKeys.MODEL_URI);
    if (config.get(ConfigKeys.SERVE_MODEL_FROM_INDEX)) {
      return index -> null;
    }
    return index -> {
      Map<String, String> settings = index.modelSettings();
      String named = settings == null ? null : settings.get(ConfigKeys.MODEL_URI.name());
      return named == null || named.equals(own) ? null : "its manifest names model.uri=" + named + ", this server"
          + " was given " + own + " (pass the same --model.uri, or serve.model-from-index=true to trust the index)";
    };
  }

  /** HTTPS with the PKCS12 keystore's certificate; the password comes from a file, never the command line. */
  private static SslConnectionFactory tls(String keystore, String passwordFile) {
    if (passwordFile.isEmpty()) {
      throw new ConfigException("serve.tls-keystore needs serve.tls-keystore-password-file (a file holding the"
          + " keystore's password)");
    }
    if (!Files.isReadable(Path.of(keystore))) {
      throw new ConfigException("cannot read serve.tls-keystore " + keystore);
    }
    String password;
    try {
      password = Files.readString(Path.of(passwordFile)).strip();
    } catch (IOException e) {
      throw new ConfigException("cannot read serve.tls-keystore-password-file " + passwordFile + ": "
          + e.getClass().getSimpleName());
    }
    SslContextFactory.Server ssl = new SslContextFactory.Server();
    ssl.setKeyStorePath(keystore);
    ssl.setKeyStoreType("PKCS12");
    ssl.setKeyStorePassword(password);
    return new SslConnectionFactory(ssl, HttpVersion.HTTP_1_1.asString());
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
