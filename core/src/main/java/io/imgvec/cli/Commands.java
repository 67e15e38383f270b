package io.imgvec.cli;

import io.imgvec.config.ConfigException;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.util.UserErrors;
import io.imgvec.util.UserException;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.function.Function;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * Runs picocli commands as every imgvec entry point does: a user error (a bad option or setting, a missing input)
 * is one line {@code imgvec <command>: <reason>} and exit 2, its trace in a log file (or on the terminal with
 * {@code --verbose}); anything else is a bug and shows its trace, exit 1.
 */
public final class Commands {
  private Commands() {}

  /**
   * Runs {@code args} on {@code cli}; {@code userError} recognises user errors beyond {@link UserException} (null:
   * not one); {@code onResult} gets what the command returned. Returns the exit status.
   */
  public static int execute(CommandLine cli, String[] args, Function<Throwable, UserException> userError,
      Consumer<Object> onResult) {
    boolean verbose = Arrays.asList(args).contains("--verbose");
    allowOverrides(cli);
    cli.setParameterExceptionHandler((e, ignored) -> fail(e.getCommandLine().getSubcommands().isEmpty()
        || args.length == 0 ? e.getCommandLine().getCommandName() : args[0], parameterError(e), verbose));
    cli.setExecutionExceptionHandler((e, command, parsed) -> {
      UserException user = userError.apply(e);
      if (user == null) {
        UserErrors.reportBug(command.getCommandName(), e);
        return 1;
      }
      return fail(command.getCommandName(), user, verbose);
    });
    cli.setExecutionStrategy(parsed -> {
      int status = new CommandLine.RunLast().execute(parsed);
      Object result = leaf(parsed).commandSpec().commandLine().getExecutionResult();
      if (result != null) {
        onResult.accept(result);
      }
      return status;
    });
    return cli.execute(args);
  }

  /** Commands that take {@link ConfigOptions} keep what picocli does not match, as their overrides. */
  public static CommandLine allowOverrides(CommandLine cli) {
    boolean takesOverrides = cli.getCommandSpec().mixins().values().stream()
        .anyMatch(m -> m.userObject() instanceof ConfigOptions);
    if (takesOverrides) {
      cli.setUnmatchedArgumentsAllowed(true);
    }
    cli.getSubcommands().values().forEach(Commands::allowOverrides);
    return cli;
  }

  /** The {@link UserException} among {@code e} and its causes, or null. */
  public static UserException userError(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof UserException u) {
        return u;
      }
    }
    return null;
  }

  /** Parses {@code args} and builds the command's configuration without running it: bad ones throw. */
  public static ImgvecConfig validate(CommandLine cli, List<String> args) {
    allowOverrides(cli);
    ConfigOptions.DRY_RUN.set(true);
    try {
      ParseResult parsed = cli.parseArgs(args.toArray(String[]::new));
      new CommandLine.RunLast().execute(parsed);
      throw new IllegalStateException("command " + leaf(parsed).commandSpec().name() + " builds no configuration");
    } catch (ParameterException e) {
      throw parameterError(e);
    } catch (CommandLine.ExecutionException e) {
      if (e.getCause() instanceof ConfigOptions.DryRunDone done) {
        return done.config;
      }
      throw e.getCause() instanceof RuntimeException r ? r : e;
    } finally {
      ConfigOptions.DRY_RUN.remove();
    }
  }

  /** picocli's message for a bad command line, as a user error with where to look. */
  public static ConfigException parameterError(ParameterException e) {
    CommandLine command = e.getCommandLine();
    if (command.getParent() == null && e instanceof CommandLine.UnmatchedArgumentException unmatched) {
      return new ConfigException("unknown command '" + unmatched.getUnmatched().get(0) + "'; commands: "
          + String.join(", ", new TreeSet<>(command.getSubcommands().keySet())) + " (" + command.getCommandName()
          + " --help)");
    }
    for (String arg : command.getUnmatchedArguments()) { // a misspelt option is why a required one is missing
      if (!ConfigOptions.isOverride(arg)) {
        return ConfigOptions.unknownOption(command.getCommandSpec(), arg);
      }
    }
    String message = e.getMessage().replaceAll("\\s+", " ").trim();
    return new ConfigException(Character.toLowerCase(message.charAt(0)) + message.substring(1) + " ("
        + command.getCommandSpec().qualifiedName() + " --help)");
  }

  private static int fail(String command, UserException e, boolean verbose) {
    UserErrors.report(command, e, verbose);
    return UserErrors.EXIT_STATUS;
  }

  private static ParseResult leaf(ParseResult parsed) {
    return parsed.hasSubcommand() ? leaf(parsed.subcommand()) : parsed;
  }
}
