package io.imgvec.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Command-line arguments of one job: its named options ({@code --manifest <uri>}) plus configuration overrides
 * ({@code --key=value}) applied over {@code --config <file>}.
 */
public final class JobArgs {
  private final Map<String, String> options;
  private final ImgvecConfig config;

  private JobArgs(Map<String, String> options, ImgvecConfig config) {
    this.options = options;
    this.config = config;
  }

  /**
   * Parses {@code args}; {@code optionNames} are the named options this command accepts, each followed by a value.
   * Some options are shorthands for configuration keys ({@code --model} sets model.uri).
   */
  public static JobArgs parse(String command, List<String> args, Set<String> optionNames,
      Map<String, String> optionToConfigKey) {
    Map<String, String> options = new LinkedHashMap<>();
    List<String> overrides = new ArrayList<>();
    Path configFile = null;
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      if (arg.startsWith("--") && arg.contains("=")) {
        overrides.add(arg);
        continue;
      }
      String name = arg.replaceFirst("^--?", "");
      if (name.equals("config") || optionNames.contains(name)) {
        if (i + 1 >= args.size()) {
          throw new ConfigException("--" + name + " needs a value");
        }
        String value = args.get(++i);
        if (name.equals("config")) {
          configFile = Path.of(value);
        } else {
          options.put(name, value);
        }
        continue;
      }
      throw new ConfigException("unknown option '" + arg + "' for " + command + "; options: --"
          + String.join(", --", optionNames) + ", --config <file>, --key=value");
    }
    Map<String, String> settings = ImgvecConfig.parseOverrides(overrides);
    optionToConfigKey.forEach((option, key) -> {
      if (options.containsKey(option)) {
        settings.put(key, options.get(option));
      }
    });
    return new JobArgs(options, ImgvecConfig.load(configFile, settings));
  }

  public String require(String name) {
    String value = options.get(name);
    if (value == null || value.isBlank()) {
      throw new ConfigException("missing required option --" + name);
    }
    return value;
  }

  public String optional(String name, String fallback) {
    return options.getOrDefault(name, fallback);
  }

  public ImgvecConfig config() {
    return config;
  }
}
