package io.imgvec.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code ${env:NAME}} and {@code ${file:PATH}} inside a setting's value, replaced where the value is used. Errors name
 * the setting and the variable or file, never a value.
 */
final class SecretReferences {
  private static final Pattern REFERENCE = Pattern.compile("\\$\\{(env|file):([^}]+)}");

  private SecretReferences() {}

  static String resolve(String setting, String value) {
    Matcher m = REFERENCE.matcher(value);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      m.appendReplacement(out, Matcher.quoteReplacement(m.group(1).equals("env") ? env(setting, m.group(2))
          : file(setting, m.group(2))));
    }
    return m.appendTail(out).toString();
  }

  private static String env(String setting, String name) {
    String value = System.getenv(name);
    if (value == null) {
      throw new ConfigException(setting + " refers to environment variable " + name + ", which is not set");
    }
    return value;
  }

  private static String file(String setting, String path) {
    try {
      return Files.readString(Path.of(path)).strip();
    } catch (IOException e) {
      throw new ConfigException(setting + " refers to file " + path + ", which cannot be read ("
          + e.getClass().getSimpleName() + ")");
    }
  }
}
