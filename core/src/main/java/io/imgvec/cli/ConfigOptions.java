package io.imgvec.cli;

import io.imgvec.config.ConfigException;
import io.imgvec.config.ImgvecConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The options every command takes (a picocli mixin): {@code --config <file>}, configuration overrides
 * {@code --key=value} applied over it, and {@code --verbose}. Overrides are what picocli does not match (the
 * commands allow unmatched arguments: {@link Commands#allowOverrides}); anything else unmatched is an unknown option.
 */
public final class ConfigOptions {
  /** Set by {@link Commands#validate}: the configuration is built and checked, then the command stops. */
  static final ThreadLocal<Boolean> DRY_RUN = ThreadLocal.withInitial(() -> false);

  @Spec(Spec.Target.MIXEE)
  private CommandSpec command;

  @Option(names = "--config", paramLabel = "<file>", description = "settings file (conf/imgvec.properties format)")
  private Path file;

  @Option(names = "--verbose", description = "show the stack trace of an error")
  private boolean verbose;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help")
  private boolean help;

  /** Ends a dry run, with the configuration it built. */
  static final class DryRunDone extends RuntimeException {
    final transient ImgvecConfig config;

    DryRunDone(ImgvecConfig config) {
      super(null, null, false, false);
      this.config = config;
    }
  }

  /**
   * The command's configuration: the settings file, the {@code --key=value} overrides, then {@code shorthands}
   * (key, value, key, value...: the command's own options that set a key, such as {@code --model}; null values are
   * options not given).
   */
  public ImgvecConfig config(String... shorthands) {
    List<String> settings = new ArrayList<>();
    for (String arg : command.commandLine().getUnmatchedArguments()) {
      if (!isOverride(arg)) {
        throw unknownOption(command, arg);
      }
      settings.add(arg);
    }
    Map<String, String> values = ImgvecConfig.parseOverrides(settings);
    for (int i = 0; i < shorthands.length; i += 2) {
      if (shorthands[i + 1] != null) {
        values.put(shorthands[i], shorthands[i + 1]);
      }
    }
    ImgvecConfig config = ImgvecConfig.load(file, values);
    if (DRY_RUN.get()) {
      throw new DryRunDone(config);
    }
    return config;
  }

  static boolean isOverride(String arg) {
    return arg.startsWith("--") && arg.contains("=");
  }

  static ConfigException unknownOption(CommandSpec command, String arg) {
    return new ConfigException("unknown option '" + arg + "' for " + command.name() + "; options: "
        + String.join(", ", optionNames(command)) + ", --key=value (imgvec " + command.name() + " --help)");
  }

  private static TreeSet<String> optionNames(CommandSpec command) {
    TreeSet<String> names = new TreeSet<>();
    for (OptionSpec o : command.options()) {
      names.add(o.longestName());
    }
    names.remove("--help");
    return names;
  }
}
