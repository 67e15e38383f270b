package io.imgvec.config;

import java.io.Serializable;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/** One typed setting: its name, default, parser and a description for error messages and docs. */
public final class ConfigKey<T> implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Parses a raw string or throws {@link IllegalArgumentException} with the reason. */
  interface Parser<T> extends Function<String, T>, Serializable {}

  private final String name;
  private final T defaultValue;
  private final Parser<T> parser;
  private final String description;

  private ConfigKey(String name, T defaultValue, Parser<T> parser, String description) {
    this.name = name;
    this.defaultValue = defaultValue;
    this.parser = parser;
    this.description = description;
  }

  public String name() {
    return name;
  }

  public T defaultValue() {
    return defaultValue;
  }

  public String description() {
    return description;
  }

  T parse(String raw) {
    try {
      return parser.apply(raw);
    } catch (IllegalArgumentException e) {
      throw new ConfigException("bad value '" + raw + "' for " + name + ": " + e.getMessage());
    }
  }

  String format(Object value) {
    if (value instanceof double[] arr) {
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < arr.length; i++) {
        sb.append(i == 0 ? "" : ",").append(arr[i]);
      }
      return sb.toString();
    }
    return String.valueOf(value);
  }

  static ConfigKey<String> string(String name, String defaultValue, String description) {
    return new ConfigKey<>(name, defaultValue, raw -> raw, description);
  }

  static ConfigKey<String> choice(String name, String defaultValue, List<String> choices, String description) {
    Parser<String> parser = raw -> {
      for (String c : choices) {
        if (c.equalsIgnoreCase(raw)) {
          return c;
        }
      }
      throw new IllegalArgumentException("valid choices: " + String.join(", ", choices));
    };
    return new ConfigKey<>(name, defaultValue, parser, description + " (" + String.join("|", choices) + ")");
  }

  static ConfigKey<Long> longRange(String name, long defaultValue, long min, long max, String description) {
    Parser<Long> parser = raw -> {
      long v;
      try {
        v = parseSize(raw);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("not a whole number");
      }
      if (v < min || v > max) {
        throw new IllegalArgumentException("must be between " + min + " and " + max);
      }
      return v;
    };
    return new ConfigKey<>(name, defaultValue, parser, description);
  }

  static ConfigKey<Integer> intRange(String name, int defaultValue, int min, int max, String description) {
    ConfigKey<Long> asLong = longRange(name, defaultValue, min, max, description);
    return new ConfigKey<>(name, defaultValue, raw -> asLong.parser.apply(raw).intValue(), description);
  }

  static ConfigKey<Double> doubleRange(String name, double defaultValue, double min, double max, String description) {
    Parser<Double> parser = raw -> {
      double v;
      try {
        v = Double.parseDouble(raw);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("not a number");
      }
      if (!(v >= min && v <= max)) {
        throw new IllegalArgumentException("must be between " + min + " and " + max);
      }
      return v;
    };
    return new ConfigKey<>(name, defaultValue, parser, description);
  }

  static ConfigKey<Boolean> bool(String name, boolean defaultValue, String description) {
    Parser<Boolean> parser = raw -> switch (raw.toLowerCase(Locale.ROOT)) {
      case "true" -> true;
      case "false" -> false;
      default -> throw new IllegalArgumentException("valid choices: true, false");
    };
    return new ConfigKey<>(name, defaultValue, parser, description);
  }

  static ConfigKey<double[]> triple(String name, double[] defaultValue, String description) {
    Parser<double[]> parser = raw -> {
      String[] parts = raw.split(",");
      if (parts.length != 3) {
        throw new IllegalArgumentException("expected three comma-separated numbers (R,G,B)");
      }
      double[] out = new double[3];
      for (int i = 0; i < 3; i++) {
        try {
          out[i] = Double.parseDouble(parts[i].trim());
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("'" + parts[i].trim() + "' is not a number");
        }
      }
      return out;
    };
    return new ConfigKey<>(name, defaultValue, parser, description);
  }

  /** Accepts plain numbers and binary suffixes k, m, g (e.g. 512m). */
  static long parseSize(String raw) {
    String s = raw.trim().toLowerCase(Locale.ROOT);
    long unit = 1;
    if (s.endsWith("k") || s.endsWith("m") || s.endsWith("g")) {
      unit = switch (s.charAt(s.length() - 1)) {
        case 'k' -> 1L << 10;
        case 'm' -> 1L << 20;
        default -> 1L << 30;
      };
      s = s.substring(0, s.length() - 1);
    }
    return Math.multiplyExact(Long.parseLong(s), unit);
  }
}
