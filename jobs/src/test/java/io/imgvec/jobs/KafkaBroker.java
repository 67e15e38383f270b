package io.imgvec.jobs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.function.IntFunction;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** A real single-node KRaft broker on loopback, run by bin/kafka-local (as users run it) as its own process. */
public final class KafkaBroker implements AutoCloseable {
  private final Path dir;
  private final int port;
  /** Appended to the broker's server.properties (bin/kafka-local's KAFKA_LOCAL_EXTRA_PROPERTIES); null: none. */
  private final Path extraProperties;
  private KafkaProducer<String, byte[]> producer;

  private KafkaBroker(Path dir, int port, Path extraProperties) {
    this.dir = dir;
    this.port = port;
    this.extraProperties = extraProperties;
  }

  static KafkaBroker start(Path dir) throws Exception {
    return start(dir, null);
  }

  /**
   * A broker whose properties {@code extra} (given the plaintext port; the controller's is the next) extends, e.g.
   * with a SASL_SSL listener.
   */
  static KafkaBroker start(Path dir, IntFunction<String> extra) throws Exception {
    int port = StandaloneCluster.freePort();
    while (port > 65000) {
      port = StandaloneCluster.freePort(); // the controller listens on port + 1
    }
    Path extraFile = null;
    if (extra != null) {
      extraFile = Files.writeString(Files.createDirectories(dir).resolve("extra.properties"), extra.apply(port));
    }
    KafkaBroker broker = new KafkaBroker(dir, port, extraFile);
    broker.run("start");
    return broker;
  }

  String bootstrapServers() {
    return "127.0.0.1:" + port;
  }

  void run(String action) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(StandaloneCluster.HOME.resolve("bin/kafka-local").toString(), action)
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("kafka-local.out")
            .toFile()));
    dir.toFile().mkdirs();
    pb.environment().put("KAFKA_LOCAL_DIR", dir.toString());
    pb.environment().put("KAFKA_LOCAL_PORT", String.valueOf(port));
    if (extraProperties != null) {
      pb.environment().put("KAFKA_LOCAL_EXTRA_PROPERTIES", extraProperties.toString());
    }
    if (pb.start().waitFor() != 0) {
      throw new IllegalStateException("bin/kafka-local " + action + " failed; see " + dir);
    }
  }

  /** Sends one record (null key: round-robin over partitions) and waits until the broker has it. */
  void send(String topic, String key, byte[] value) throws IOException {
    try {
      producer().send(new ProducerRecord<>(topic, key, value)).get();
    } catch (InterruptedException | ExecutionException e) {
      throw new IOException("send to " + topic + " failed", e);
    }
  }

  private synchronized KafkaProducer<String, byte[]> producer() {
    if (producer == null) {
      Properties p = new Properties();
      p.put("bootstrap.servers", bootstrapServers());
      p.put("linger.ms", "5");
      producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
    }
    return producer;
  }

  @Override
  public void close() throws Exception {
    if (producer != null) {
      producer.close();
    }
    run("stop");
  }
}
