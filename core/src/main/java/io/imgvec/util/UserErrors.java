package io.imgvec.util;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/** How every entry point reports a {@link UserException}: one line (and a hint), the trace kept out of the way. */
public final class UserErrors {
  /** The exit status of a user error. */
  public static final int EXIT_STATUS = 2;

  private UserErrors() {}

  /**
   * Prints {@code imgvec <command>: <reason>} (and {@code   hint: ...}) to stderr; the stack trace goes to the
   * terminal with {@code verbose}, else to {@code <imgvec.home>/target/logs/} (or the temp directory).
   */
  public static void report(String command, UserException e, boolean verbose) {
    System.err.println("imgvec " + command + ": " + e.getMessage() + (e.hint() == null ? "" : "\n  hint: " + e.hint()));
    if (verbose) {
      e.printStackTrace();
    } else {
      writeTraceLog(command, e);
    }
  }

  /** Anything else is a bug: its trace is printed for the report. */
  public static void reportBug(String command, Throwable e) {
    System.err.println("imgvec " + command + ": failed (a bug, please report it with this trace): " + e);
    e.printStackTrace();
  }

  private static void writeTraceLog(String command, Throwable e) {
    try {
      String home = System.getProperty("imgvec.home");
      Path dir = Files.createDirectories(home != null ? Path.of(home, "target", "logs")
          : Path.of(System.getProperty("java.io.tmpdir"), "imgvec-logs"));
      StringWriter trace = new StringWriter();
      e.printStackTrace(new PrintWriter(trace));
      String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss-SSS"));
      Files.writeString(dir.resolve(command + "-" + stamp + ".log"), trace.toString());
    } catch (IOException | RuntimeException ignored) {
      // The one-line message is what matters; a log directory we cannot write must not hide it.
    }
  }
}
