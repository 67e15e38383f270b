package io.imgvec.jobs.cli;

import io.imgvec.cli.Commands;
import io.imgvec.config.ConfigException;
import io.imgvec.jobs.run.RunSummary;
import io.imgvec.util.UserException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import org.apache.spark.sql.AnalysisException;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

/**
 * Entry point of every job: {@code imgvec <command> [options]}, locally or through spark-submit (the commands are
 * declared in {@link JobCommands}). A run's JSON summary goes to stdout and, with metrics.pushgateway, to the
 * Pushgateway; user errors are one line and exit 2 ({@link Commands}).
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    JobCommands commands = new JobCommands();
    int status = Commands.execute(JobCommands.commandLine(commands), args, Main::asUserError, result -> {
      if (result instanceof RunSummary summary) {
        System.out.println(summary.toJson());
        push(commands, summary);
      }
    });
    System.exit(status);
  }

  private static void push(JobCommands commands, RunSummary summary) {
    try {
      commands.pushMetrics(summary);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * User errors: imgvec's own, and Spark's analysis errors about a path (it names the path and the reason; the
   * 100+ lines of its trace do not help).
   */
  public static UserException asUserError(Throwable e) {
    UserException own = Commands.userError(e);
    if (own != null) {
      return own;
    }
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof AnalysisException a && a.getCondition() != null
          && (a.getCondition().startsWith("PATH_NOT_FOUND") || a.getCondition().equals("UNABLE_TO_INFER_SCHEMA"))) {
        UserException u = new UserException(a.getSimpleMessage().replaceAll("\\s+", " "));
        u.initCause(a);
        return u;
      }
    }
    return null;
  }

  /** Runs {@code command} as {@code main} does, returning its summary and throwing what it throws (for tests). */
  public static RunSummary run(String command, List<String> args) throws Exception {
    JobCommands commands = new JobCommands();
    CommandLine cli = JobCommands.commandLine(commands);
    ParseResult parsed;
    try {
      parsed = cli.parseArgs(prepend(command, args));
    } catch (CommandLine.ParameterException e) {
      throw Commands.parameterError(e);
    }
    try {
      new CommandLine.RunLast().execute(parsed);
    } catch (CommandLine.ExecutionException e) {
      throw e.getCause() instanceof Exception cause ? cause : e;
    }
    RunSummary summary = (RunSummary) parsed.subcommand().commandSpec().commandLine().getExecutionResult();
    if (summary != null) {
      commands.pushMetrics(summary);
    }
    return summary;
  }

  /** Parses {@code command}'s arguments and builds its configuration, without running: bad ones throw. */
  public static void validate(String command, List<String> args) {
    Commands.validate(JobCommands.commandLine(new JobCommands()), List.of(prepend(command, args)));
  }

  static int positive(String option, int value) {
    if (value <= 0) {
      throw new ConfigException(option + " must be a whole number above 0, got '" + value + "'");
    }
    return value;
  }

  private static String[] prepend(String command, List<String> args) {
    String[] all = new String[args.size() + 1];
    all[0] = command;
    for (int i = 0; i < args.size(); i++) {
      all[i + 1] = args.get(i);
    }
    return all;
  }
}
