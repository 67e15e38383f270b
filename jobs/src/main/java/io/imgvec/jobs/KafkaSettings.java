package io.imgvec.jobs;

import io.imgvec.config.ConfigException;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.util.Exceptions;
import io.imgvec.util.UserException;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;

/**
 * The {@code kafka.*} settings (security.protocol, sasl.*, ssl.*, ...) for stream's and produce's clients, as Spark's
 * Kafka source and sink take them: a name no Kafka client knows is refused up front; values are resolved from
 * {@code ${env:...}} and {@code ${file:...}} and never logged (Spark's UI and plans redact them, see
 * {@link SparkSessions}).
 */
final class KafkaSettings {
  private KafkaSettings() {}

  /** The settings without the prefix, for a Kafka client of our own (the topic check). */
  static Map<String, String> client(ImgvecConfig config) {
    Map<String, String> settings = config.kafkaClientSettings();
    Set<String> known = new TreeSet<>(ConsumerConfig.configNames());
    known.addAll(ProducerConfig.configNames());
    known.addAll(AdminClientConfig.configNames());
    for (String name : settings.keySet()) {
      if (!known.contains(name)) {
        throw new ConfigException(ImgvecConfig.KAFKA_PREFIX + name + " is not a Kafka client setting; e.g."
            + " kafka.security.protocol, kafka.sasl.mechanism, kafka.sasl.jaas.config, kafka.ssl.truststore.location");
      }
    }
    return settings;
  }

  /**
   * Throws a user error when {@code failure} is the brokers refusing these credentials or this certificate (an
   * operator's setting to fix, not a bug); returns otherwise.
   */
  static void requireAccepted(Throwable failure, String bootstrapServers) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof AuthenticationException || t instanceof AuthorizationException) {
        throw new UserException("Kafka at " + bootstrapServers + " refused the client: " + Exceptions.firstLine(t),
            "check kafka.security.protocol, kafka.sasl.* and kafka.ssl.* (docs/security.md, Kafka)");
      }
    }
  }

  /** The settings as Spark's Kafka source and sink options ({@code kafka.}-prefixed). */
  static Map<String, String> sparkOptions(ImgvecConfig config) {
    Map<String, String> options = new TreeMap<>();
    client(config).forEach((k, v) -> options.put(ImgvecConfig.KAFKA_PREFIX + k, v));
    return options;
  }
}
