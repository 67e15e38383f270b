package io.imgvec.jobs.stream;

import io.imgvec.config.ConfigException;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.util.Exceptions;
import io.imgvec.util.UserException;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;

/**
 * The {@code kafka.*} settings (security.protocol, sasl.*, ssl.*, ...) for stream's and produce's clients, as Spark's
 * Kafka source and sink take them: a name no Kafka client knows is refused up front; values are resolved from
 * {@code ${env:...}} and {@code ${file:...}} and never logged (Spark's UI and plans redact them, see
 * {@link SparkSessions}).
 */
public final class KafkaSettings {
  private static final String HINT = "check kafka.security.protocol, kafka.sasl.* and kafka.ssl.* (docs/security.md,"
      + " Kafka)";

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
   * An admin client with these settings for the checks made before a job starts; settings the client cannot work
   * with (a SASL mechanism without its JAAS configuration, an unreadable truststore) are a user error.
   */
  static Admin admin(String bootstrapServers, ImgvecConfig config) {
    Properties props = new Properties();
    props.putAll(client(config));
    props.put("bootstrap.servers", bootstrapServers);
    props.put("default.api.timeout.ms", "15000");
    props.put("request.timeout.ms", "15000");
    try {
      return Admin.create(props);
    } catch (KafkaException e) {
      throw new UserException("cannot make a Kafka client for " + bootstrapServers + ": " + reasons(e), HINT);
    }
  }

  /**
   * Fails with a user error when the brokers refuse these credentials or this certificate, before any Spark task
   * would fail on it with a trace; brokers that cannot be reached now are left to the job's own retries.
   */
  static void requireAccepted(String bootstrapServers, ImgvecConfig config) throws InterruptedException {
    try (Admin admin = admin(bootstrapServers, config)) {
      admin.describeCluster().clusterId().get(20, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      failIfRefused(e, bootstrapServers);
    }
  }

  /** Throws a user error when {@code failure} is the brokers refusing the client; returns otherwise. */
  static void failIfRefused(Throwable failure, String bootstrapServers) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof AuthenticationException || t instanceof AuthorizationException) {
        throw new UserException("Kafka at " + bootstrapServers + " refused the client: " + Exceptions.firstLine(t),
            HINT);
      }
    }
  }

  /** Each cause's message, as the Kafka client nests the one that says what is missing. */
  private static String reasons(Throwable e) {
    StringBuilder out = new StringBuilder(Exceptions.firstLine(e));
    for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
      out.append(": ").append(Exceptions.firstLine(t));
    }
    return out.toString();
  }

  /** The settings as Spark's Kafka source and sink options ({@code kafka.}-prefixed). */
  static Map<String, String> sparkOptions(ImgvecConfig config) {
    Map<String, String> options = new TreeMap<>();
    client(config).forEach((k, v) -> options.put(ImgvecConfig.KAFKA_PREFIX + k, v));
    return options;
  }
}
