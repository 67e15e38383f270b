package io.imgvec.jobs;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real S3 API (S3Proxy, file-system backend) on 127.0.0.1, run as its own process: its libraries would clash with
 * Spark's on one classpath. Buckets are directories under the data directory.
 */
public final class S3ProxyServer implements AutoCloseable {
  public static final String ACCESS_KEY = "imgvec-access";
  public static final String SECRET_KEY = "imgvec-secret";
  private static final Path JAR = StandaloneCluster.HOME.resolve("jobs/target/s3proxy/s3proxy.jar");

  private final Path dir;
  private final Path properties;
  private final int port;
  private Process process;

  private S3ProxyServer(Path dir, Path properties, int port) {
    this.dir = dir;
    this.properties = properties;
    this.port = port;
  }

  public static S3ProxyServer start(Path dir, String... buckets) throws Exception {
    if (!Files.exists(JAR)) {
      throw new IllegalStateException(JAR + " missing: Maven copies it in process-test-resources");
    }
    Path data = Files.createDirectories(dir.resolve("data"));
    for (String bucket : buckets) {
      Files.createDirectories(data.resolve(bucket));
    }
    int port;
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = socket.getLocalPort();
    }
    Path properties = Files.writeString(dir.resolve("s3proxy.properties"), String.join("\n",
        "s3proxy.endpoint=http://127.0.0.1:" + port,
        "s3proxy.authorization=aws-v2-or-v4",
        "s3proxy.identity=" + ACCESS_KEY,
        "s3proxy.credential=" + SECRET_KEY,
        "jclouds.provider=filesystem-nio2",
        "jclouds.filesystem.basedir=" + data,
        "jclouds.identity=" + ACCESS_KEY,
        "jclouds.credential=" + SECRET_KEY));
    S3ProxyServer server = new S3ProxyServer(dir, properties, port);
    server.launch();
    return server;
  }

  private void launch() throws Exception {
    ProcessBuilder pb = new ProcessBuilder("java", "-jar", JAR.toAbsolutePath().toString(), "--properties",
        properties.toString()).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile()));
    pb.environment().put("LOG_LEVEL", "debug"); // one "request:" line per request: tests read what was asked
    process = pb.start();
    awaitReady();
  }

  /** Kills the server (as a crash would), keeps it down for {@code downMillis}, starts it again on the same data. */
  void killAndRestart(long downMillis) throws Exception {
    process.destroyForcibly().waitFor();
    Thread.sleep(downMillis);
    launch();
  }

  /** The server's log, one debug line per request among others. */
  Path log() {
    return dir.resolve("s3proxy.log");
  }

  /**
   * JVM options pointing a {@code bin/imgvec} run at this server as a user would (endpoint settings through
   * spark.hadoop.*); the credentials go in the environment instead ({@link #credentialsEnv}).
   */
  String javaOpts() {
    StringBuilder opts = new StringBuilder();
    s3aSettings().forEach((k, v) -> {
      if (!k.endsWith("access.key") && !k.endsWith("secret.key") && !k.endsWith("credentials.provider")
          && !k.endsWith("disable.cache")) { // a job's processes talk to one server: their cache is right
        opts.append(" -Dspark.hadoop.").append(k).append('=').append(v);
      }
    });
    return opts.toString().strip();
  }

  /** The AWS default chain's environment variables for this server's credentials. */
  static Map<String, String> credentialsEnv() {
    return Map.of("AWS_ACCESS_KEY_ID", ACCESS_KEY, "AWS_SECRET_ACCESS_KEY", SECRET_KEY);
  }

  /** Where the server keeps a bucket's objects (file-system backend: one file per key). */
  Path bucketDir(String bucket) {
    return dir.resolve("data").resolve(bucket);
  }

  private void awaitReady() {
    await("S3Proxy serves").atMost(30, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(100))
        .failFast("S3Proxy exited", () -> !process.isAlive())
        .ignoreExceptionsInstanceOf(IOException.class) // not listening yet
        .until(() -> ((HttpURLConnection) URI.create(endpoint()).toURL().openConnection())
            .getResponseCode() > 0); // any HTTP answer means it is serving
  }

  String endpoint() {
    return "http://127.0.0.1:" + port;
  }

  /**
   * The s3a settings a client needs for this server; file systems are not cached, as Hadoop caches them by bucket
   * name alone and tests in one JVM start servers on other ports with the same bucket names.
   */
  public Map<String, String> s3aSettings() {
    return Map.of("fs.s3a.impl.disable.cache", "true",
        "fs.s3a.endpoint", endpoint(),
        "fs.s3a.endpoint.region", "us-east-1",
        "fs.s3a.path.style.access", "true",
        "fs.s3a.connection.ssl.enabled", "false",
        "fs.s3a.access.key", ACCESS_KEY,
        "fs.s3a.secret.key", SECRET_KEY,
        "fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    process.waitFor();
  }
}
