package io.imgvec.config;

import java.io.IOException;
import java.io.Reader;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * The one typed, validated configuration shared by every job: a properties file plus {@code key=value}
 * overrides. Unknown keys and bad values are rejected up front, naming the valid choices.
 */
public final class ImgvecConfig implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Settings passed through to the Kafka clients ({@code kafka.*}): names the client checks, values unread. */
  public static final String KAFKA_PREFIX = "kafka.";

  private final Map<String, Object> values;
  /** kafka.* settings as given (placeholders unresolved); kept apart from the typed ones and from summaries. */
  private final Map<String, String> kafka;

  private ImgvecConfig(Map<String, Object> values, Map<String, String> kafka) {
    this.values = Collections.unmodifiableMap(values);
    this.kafka = Collections.unmodifiableMap(kafka);
  }

  /** Defaults only. */
  public static ImgvecConfig defaults() {
    return of(Map.of());
  }

  /** Validates and types the raw settings; every key not given takes its default. */
  public static ImgvecConfig of(Map<String, String> raw) {
    Map<String, Object> typed = new LinkedHashMap<>();
    for (ConfigKey<?> key : ConfigKeys.ALL.values()) {
      typed.put(key.name(), key.defaultValue());
    }
    Map<String, String> kafka = new TreeMap<>();
    for (Map.Entry<String, String> e : new TreeMap<>(raw).entrySet()) {
      ConfigKey<?> key = ConfigKeys.ALL.get(e.getKey());
      if (key == null && e.getKey().startsWith(KAFKA_PREFIX) && e.getKey().length() > KAFKA_PREFIX.length()) {
        kafka.put(e.getKey(), e.getValue().trim());
        continue;
      }
      if (key == null) {
        throw new ConfigException("unknown configuration key '" + e.getKey() + "'; valid keys: "
            + String.join(", ", ConfigKeys.ALL.keySet()) + ", and kafka.<Kafka client setting>");
      }
      typed.put(key.name(), key.parse(e.getValue().trim()));
    }
    return new ImgvecConfig(typed, kafka);
  }

  /** Loads {@code file} (may be null) and applies {@code overrides} on top. */
  public static ImgvecConfig load(Path file, Map<String, String> overrides) {
    Map<String, String> raw = new LinkedHashMap<>();
    if (file != null) {
      raw.putAll(readProperties(file));
    }
    raw.putAll(overrides);
    return of(raw);
  }

  /** A copy with some settings changed, validated like the rest. */
  public ImgvecConfig with(Map<String, String> overrides) {
    Map<String, String> raw = new LinkedHashMap<>();
    values.forEach((k, v) -> raw.put(k, ConfigKeys.ALL.get(k).format(v)));
    raw.putAll(kafka);
    raw.putAll(overrides);
    return of(raw);
  }

  @SuppressWarnings("unchecked")
  public <T> T get(ConfigKey<T> key) {
    return (T) values.get(key.name());
  }

  /**
   * The kafka.* settings without their prefix, each {@code ${env:NAME}} and {@code ${file:PATH}} replaced by the
   * variable's value or the file's content: secrets stay out of command lines, configuration files and logs.
   */
  public Map<String, String> kafkaClientSettings() {
    Map<String, String> out = new TreeMap<>();
    kafka.forEach((k, v) -> out.put(k.substring(KAFKA_PREFIX.length()), SecretReferences.resolve(k, v)));
    return out;
  }

  /** All typed settings as strings (kafka.* ones, which may hold secrets, are not among them). */
  public Map<String, String> asStrings() {
    Map<String, String> out = new LinkedHashMap<>();
    values.forEach((k, v) -> out.put(k, ConfigKeys.ALL.get(k).format(v)));
    return out;
  }

  private static Map<String, String> readProperties(Path file) {
    Properties props = new Properties();
    try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      props.load(reader);
    } catch (IOException e) {
      throw new ConfigException("cannot read configuration file " + file + ": " + e.getMessage());
    }
    Map<String, String> raw = new LinkedHashMap<>();
    for (String name : props.stringPropertyNames()) {
      raw.put(name, props.getProperty(name));
    }
    return raw;
  }

  /** Every key with its description and default, in properties-file syntax (conf/imgvec.properties). */
  public static String documentedDefaults() {
    StringBuilder sb = new StringBuilder();
    for (ConfigKey<?> key : ConfigKeys.ALL.values()) {
      sb.append("# ").append(key.description()).append('\n')
          .append(key.name()).append('=').append(key.format(key.defaultValue())).append("\n\n");
    }
    return sb.toString();
  }

  /** Every setting as a Markdown table: key, default, what it does (the configuration guide's reference). */
  public static String markdownReference() {
    StringBuilder sb = new StringBuilder("| key | default | what |\n|---|---|---|\n");
    for (ConfigKey<?> key : ConfigKeys.ALL.values()) {
      String value = key.format(key.defaultValue());
      sb.append("| `").append(key.name()).append("` | ").append(value.isEmpty() ? "" : "`" + value + "`")
          .append(" | ").append(key.description().replace("|", "\\|")).append(" |\n");
    }
    return sb.toString();
  }

  /** Splits {@code --key=value} / {@code key=value} arguments into a map; anything else is an error. */
  public static Map<String, String> parseOverrides(List<String> args) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String arg : args) {
      String body = arg.startsWith("--") ? arg.substring(2) : arg;
      int eq = body.indexOf('=');
      if (eq <= 0) {
        throw new ConfigException("expected --key=value, got '" + arg + "'");
      }
      out.put(body.substring(0, eq), body.substring(eq + 1));
    }
    return out;
  }
}
