package io.imgvec.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.imgvec.TestImages;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * produce and stream against a broker that takes clients only over SASL_SSL (PLAIN, a certificate made by keytool),
 * as on Amazon MSK or Confluent Cloud: with the credentials they work, without them they fail with one line, and
 * the password appears in nothing they write.
 */
public class KafkaSecurityIT {
  private static final String PASSWORD = "imgvec-pw-" + Long.toHexString(System.nanoTime());
  private static final String STORE_PASSWORD = "store-pw-" + Long.toHexString(System.nanoTime());

  @TempDir Path tmp;

  @Test
  void produceAndStreamOverSaslSslWithCredentialsFromFiles() throws Exception {
    Path keystore = tmp.resolve("broker.p12");
    Path truststore = tmp.resolve("clients.p12");
    keytool("-genkeypair", "-alias", "broker", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2",
        "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1", "-storetype", "PKCS12", "-keystore",
        keystore.toString(), "-storepass", STORE_PASSWORD);
    keytool("-exportcert", "-alias", "broker", "-keystore", keystore.toString(), "-storepass", STORE_PASSWORD,
        "-rfc", "-file", tmp.resolve("broker.pem").toString());
    keytool("-importcert", "-noprompt", "-alias", "broker", "-file", tmp.resolve("broker.pem").toString(),
        "-storetype", "PKCS12", "-keystore", truststore.toString(), "-storepass", STORE_PASSWORD);
    int securePort = StandaloneCluster.freePort();
    Path passwordFile = Files.writeString(tmp.resolve("kafka-password"), PASSWORD + "\n");
    Path storePasswordFile = Files.writeString(tmp.resolve("truststore-password"), STORE_PASSWORD);
    Path dir = Files.createDirectories(tmp.resolve("manifest"));
    List<Path> photos = TestImages.list("photos");
    Files.copy(photos.get(0), dir.resolve("a.jpg"));
    Files.copy(photos.get(1), dir.resolve("b.jpg"));
    Path manifest = Files.writeString(dir.resolve("manifest.csv"), "image_id,uri\nm0,a.jpg\nm1,b.jpg\n");
    try (KafkaBroker kafka = KafkaBroker.start(tmp.resolve("kafka"), port -> String.join("\n",
        "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + (port + 1)
            + ",SASL_SSL://127.0.0.1:" + securePort,
        "advertised.listeners=PLAINTEXT://127.0.0.1:" + port + ",SASL_SSL://127.0.0.1:" + securePort,
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL",
        "inter.broker.listener.name=PLAINTEXT",
        "sasl.enabled.mechanisms=PLAIN",
        "listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule"
            + " required user_imgvec=\"" + PASSWORD + "\";",
        "ssl.keystore.type=PKCS12", "ssl.keystore.location=" + keystore, "ssl.keystore.password=" + STORE_PASSWORD,
        ""))) {
      String secure = "127.0.0.1:" + securePort;
      List<String> client = List.of("--kafka.security.protocol=SASL_SSL", "--kafka.sasl.mechanism=PLAIN",
          "--kafka.ssl.truststore.type=PKCS12", "--kafka.ssl.truststore.location=" + truststore,
          "--kafka.ssl.truststore.password=${file:" + storePasswordFile + "}");
      String jaas = "--kafka.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required"
          + " username=\"imgvec\" password=\"${file:" + passwordFile + "}\";";
      String wrongJaas = jaas.replace("${file:" + passwordFile + "}", "wrong");

      JsonNode produced = ImgvecProcess.run(tmp, "produce", args(client, jaas, "--manifest", manifest.toString(),
          "--bootstrap-servers", secure, "--topic", "photos"));
      assertEquals(2, produced.get("records_sent").asInt(), produced.toString());
      List<String> streamArgs = List.of("--bootstrap-servers", secure, "--topic", "photos", "--output",
          tmp.resolve("out").toString(), "--checkpoint", tmp.resolve("checkpoint").toString(), "--trigger",
          "available-now", "--input.allowed-uri-prefixes=" + dir);
      JsonNode streamed = ImgvecProcess.run(tmp, "stream", args(client, jaas, streamArgs.toArray(String[]::new)));
      assertEquals(2, streamed.get("embedded").asInt(), streamed.toString());

      refused("produce1", args(client, wrongJaas, "--manifest", manifest.toString(), "--bootstrap-servers", secure,
          "--topic", "photos"));
      refused("stream1", args(client, wrongJaas, streamArgs.toArray(String[]::new)));
      refused("stream2", args(client, null, streamArgs.toArray(String[]::new))); // SASL without credentials
    }
    assertNoFileHolds(PASSWORD, List.of(tmp.resolve("out"), tmp.resolve("checkpoint"), tmp.resolve("produce.out"),
        tmp.resolve("produce.err"), tmp.resolve("stream.out"), tmp.resolve("stream.err"),
        StandaloneCluster.HOME.resolve("target/logs")));
  }

  private static String[] args(List<String> client, String jaas, String... rest) {
    List<String> all = new ArrayList<>(List.of(rest));
    all.addAll(client);
    if (jaas != null) {
      all.add(jaas);
    }
    return all.toArray(String[]::new);
  }

  /** Exits 2 within two minutes with one line saying why Kafka refused it or why no client could be made. */
  private void refused(String name, String... args) throws Exception {
    Process p = ImgvecProcess.start(tmp, name, args);
    assertTrue(p.waitFor(2, TimeUnit.MINUTES), name + " did not give up");
    String err = Files.readString(tmp.resolve(name + ".err"));
    assertEquals(2, p.exitValue(), err);
    List<String> said = err.lines().filter(l -> l.startsWith("imgvec ")).toList();
    assertEquals(1, said.size(), err);
    assertTrue(said.get(0).contains("refused the client: Authentication failed")
        || said.get(0).contains("cannot make a Kafka client") && said.get(0).contains("JAAS"), said.get(0));
    assertFalse(err.contains("\tat "), "no stack trace for a user error: " + err);
    assertFalse(err.contains(PASSWORD), err);
  }

  private static void assertNoFileHolds(String secret, List<Path> roots) throws Exception {
    byte[] needle = secret.getBytes(StandardCharsets.UTF_8);
    for (Path root : roots) {
      if (!Files.exists(root)) {
        continue;
      }
      try (Stream<Path> files = Files.walk(root)) {
        for (Path f : files.filter(Files::isRegularFile).toList()) {
          String text = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
          assertFalse(text.contains(new String(needle, StandardCharsets.ISO_8859_1)), f + " holds the password");
        }
      }
    }
  }

  private static void keytool(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("keytool"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), out);
  }
}
