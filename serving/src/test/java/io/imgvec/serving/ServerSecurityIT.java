package io.imgvec.serving;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgvec.TestImages;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.index.IndexBuilder;
import io.imgvec.index.IndexPublisher;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
import javax.imageio.ImageIO;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server as users run it (its own JVM, -Xmx1g as in conf/k8s) with bearer tokens and HTTPS from a keystore
 * made by keytool, against what a hostile client sends: no or wrong tokens, a PNG whose header declares 100 MP in a
 * few hundred KB, a 30 MP JPEG, an over-cap batch. Its peak resident memory is read from /proc.
 */
class ServerSecurityIT {
  private static final String TOKEN = "s3cr3t-token-" + Long.toHexString(System.nanoTime());
  private static final String PASSWORD = "keystore-pw-" + Long.toHexString(System.nanoTime());

  @TempDir Path tmp;

  @Test
  void tokensTlsAndBoundedImageQueries() throws Exception {
    String index = publishIndex();
    Path keystore = tmp.resolve("server.p12");
    Process keytool = new ProcessBuilder("keytool", "-genkeypair", "-alias", "imgvec", "-keyalg", "RSA",
        "-keysize", "2048", "-validity", "2", "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost",
        "-storetype", "PKCS12", "-keystore", keystore.toString(), "-storepass", PASSWORD).inheritIO().start();
    assertEquals(0, keytool.waitFor());
    Path passwordFile = Files.writeString(tmp.resolve("keystore-password"), PASSWORD + "\n");
    Path tokens = Files.writeString(tmp.resolve("tokens"), "# one per line\nold-token-being-rotated\n" + TOKEN + "\n");
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Process server = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx1g", "-Dlog4j2.configurationFile=" + TestImages.ROOT.getParent().getParent()
            .resolve("conf/log4j2.properties"), "-cp", System.getProperty("java.class.path"), ServeMain.class.getName(), "--index", index,
        "--port", String.valueOf(port), "--serve.auth-token-file=" + tokens,
        "--serve.tls-keystore=" + keystore, "--serve.tls-keystore-password-file=" + passwordFile)
        .redirectOutput(tmp.resolve("serve.out").toFile()).redirectError(tmp.resolve("serve.err").toFile()).start();
    try {
      SSLContext tls = trusting(keystore);
      String base = "https://127.0.0.1:" + port;
      // its own client: no connection opened while the server was starting is reused by the checks below
      awaitUp(HttpClient.newBuilder().sslContext(tls).build(), base + "/healthz", server);
      HttpClient https = HttpClient.newBuilder().sslContext(tls).build();
      assertEquals(200, send(https, base + "/readyz", null, null).statusCode(), "probes need no token");
      String query = "{\"image_id\": \"photos/china.jpg\", \"k\": 3}";
      assertEquals(401, send(https, base + "/search", query, null).statusCode());
      assertEquals(401, send(https, base + "/search", query, "Bearer wrong-" + TOKEN).statusCode());
      assertEquals(401, send(https, base + "/nowhere", null, null).statusCode(), "no map of the API without one");
      HttpResponse<String> ok = send(https, base + "/search", query, "Bearer " + TOKEN);
      assertEquals(200, ok.statusCode(), ok.body());
      assertTrue(ok.body().contains("photos/china.jpg"), ok.body());

      // each refused upload gets a client of its own: the checks after them never reuse a connection the server
      // may have closed after refusing (a CI run under load got 'header parser received no bytes' on the next one)
      HttpResponse<String> bomb = sendImage(HttpClient.newBuilder().sslContext(tls).build(), base,
          pngDeclaring(10_000, 10_000));
      assertEquals(413, bomb.statusCode(), bomb.body());
      assertTrue(bomb.body().contains("serve.max-image-pixels"), bomb.body());
      HttpResponse<String> large = sendImage(HttpClient.newBuilder().sslContext(tls).build(), base,
          jpeg(6_700, 4_500));
      assertEquals(413, large.statusCode(), large.body());
      String vector = "[" + "0.01,".repeat(1279) + "0.01]";
      HttpResponse<String> batch = send(https, base + "/search/batch", "{\"vectors\": ["
          + String.join(",", java.util.Collections.nCopies(200, vector)) + "], \"k\": 1000}", "Bearer " + TOKEN);
      assertEquals(400, batch.statusCode(), batch.body());
      assertEquals(200, send(https, base + "/readyz", null, null).statusCode(), "still ready");
      long peakKb = peakResidentKb(server.pid());
      System.out.println("[ServerSecurityIT] server peak resident memory " + peakKb / 1024 + " MB");
      assertTrue(peakKb < 1_500_000, "peak resident memory " + peakKb + " kB");
      assertFalse(HttpClient.newHttpClient().sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
          + "/healthz")).build(), HttpResponse.BodyHandlers.ofString()).handle((r, e) -> r != null
          && r.statusCode() == 200).get(), "no plain HTTP beside HTTPS");
    } finally {
      server.destroy();
      server.waitFor(30, TimeUnit.SECONDS);
    }
    for (String log : List.of("serve.out", "serve.err")) {
      String text = Files.readString(tmp.resolve(log));
      assertFalse(text.contains(TOKEN) || text.contains(PASSWORD), log + " holds a secret");
    }
    assertTrue(Files.readString(tmp.resolve("serve.err")).contains("listening on https://"));
  }

  private String publishIndex() throws Exception {
    ImgvecConfig config = ImgvecConfig.defaults();
    ServerTest.PublishedIndexFixture fixture = ServerTest.PublishedIndexFixture.embed(config, List.of("photos"));
    IndexBuilder.BuiltIndex built = new IndexBuilder(fixture, IndexBuilder.Options.from(config), m -> { })
        .build(Files.createDirectories(tmp.resolve("built")));
    String uri = tmp.resolve("index").toUri().toString();
    IndexPublisher.publish(built, uri, 2, new Configuration());
    return uri;
  }

  private static SSLContext trusting(Path keystore) throws Exception {
    KeyStore store = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(keystore)) {
      store.load(in, PASSWORD.toCharArray());
    }
    TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(store);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, trust.getTrustManagers(), null);
    return context;
  }

  private static void awaitUp(HttpClient client, String url, Process server) {
    await("the server starts").atMost(2, TimeUnit.MINUTES).pollInterval(Duration.ofMillis(200))
        .failFast("the server exited", () -> !server.isAlive())
        .ignoreExceptionsInstanceOf(java.io.IOException.class) // not listening yet
        .until(() -> send(client, url, null, null).statusCode() == 200);
  }

  private static HttpResponse<String> send(HttpClient client, String url, String body, String authorization)
      throws Exception {
    HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(url));
    if (authorization != null) {
      r.header("Authorization", authorization);
    }
    if (body != null) {
      r.POST(HttpRequest.BodyPublishers.ofString(body));
    }
    return client.send(r.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> sendImage(HttpClient client, String base, byte[] image) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create(base + "/search/image")).header("Authorization",
        "Bearer " + TOKEN).POST(HttpRequest.BodyPublishers.ofByteArray(image)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** A valid RGBA PNG of zeros: its pixels would take 4 bytes each decoded, its deflated data about 1/1000. */
  private static byte[] pngDeclaring(int width, int height) throws Exception {
    ByteArrayOutputStream idat = new ByteArrayOutputStream();
    try (DeflaterOutputStream z = new DeflaterOutputStream(idat, new Deflater(9), 1 << 16)) {
      byte[] row = new byte[1 + 4 * width];
      for (int y = 0; y < height; y++) {
        z.write(row);
      }
    }
    ByteArrayOutputStream png = new ByteArrayOutputStream();
    png.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
    ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
    DataOutputStream h = new DataOutputStream(ihdr);
    h.writeInt(width);
    h.writeInt(height);
    h.write(new byte[] {8, 6, 0, 0, 0});
    chunk(png, "IHDR", ihdr.toByteArray());
    chunk(png, "IDAT", idat.toByteArray());
    chunk(png, "IEND", new byte[0]);
    return png.toByteArray();
  }

  private static void chunk(ByteArrayOutputStream png, String type, byte[] data) throws Exception {
    DataOutputStream out = new DataOutputStream(png);
    out.writeInt(data.length);
    byte[] typeBytes = type.getBytes(StandardCharsets.US_ASCII);
    out.write(typeBytes);
    out.write(data);
    CRC32 crc = new CRC32();
    crc.update(typeBytes);
    crc.update(data);
    out.writeInt((int) crc.getValue());
  }

  private static byte[] jpeg(int width, int height) throws Exception {
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_3BYTE_BGR);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(image, "jpg", out);
    return out.toByteArray();
  }

  private static long peakResidentKb(long pid) throws Exception {
    return Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream().filter(l -> l.startsWith("VmHWM:"))
        .mapToLong(l -> Long.parseLong(l.replaceAll("\\D", ""))).findFirst().orElseThrow();
  }
}
