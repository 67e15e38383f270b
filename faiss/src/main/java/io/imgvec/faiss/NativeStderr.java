package io.imgvec.faiss;

import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.UnaryOperator;

/**
 * This process's standard error (file descriptor 2) through a pipe a daemon thread reads, so that every line on it,
 * including those native libraries write there directly (libpng, OpenCV), can be rewritten before it reaches the
 * real stderr. Lives beside the FAISS shim because that is the project's native library.
 */
public final class NativeStderr {
  private static boolean redirected;

  private NativeStderr() {}

  /**
   * From now on, each line written to stderr reaches it as {@code rewrite} returns it. Once per process; false
   * where it cannot (no native library, a pipe refused), stderr then left as it was. At exit, stderr is restored and
   * the lines still in the pipe are written.
   */
  public static synchronized boolean rewriteLines(UnaryOperator<String> rewrite) {
    if (redirected) {
      return true;
    }
    try {
      FaissNative.ensureLoaded();
    } catch (FaissException e) {
      return false;
    }
    System.err.flush();
    int[] fds = redirect();
    if (fds == null) {
      return false;
    }
    Thread reader = new Thread(() -> forward(fds[0], fds[1], rewrite), "stderr-lines");
    reader.setDaemon(true);
    reader.start();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      System.err.flush();
      restore(fds[1]);
      try {
        reader.join(2000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "stderr-restore"));
    redirected = true;
    return true;
  }

  /** Appends (a stderr redirected to a file must not be truncated) each rewritten line to the saved stderr. */
  private static void forward(int readFd, int stderrFd, UnaryOperator<String> rewrite) {
    try (BufferedReader in = new BufferedReader(new InputStreamReader(new FileInputStream("/proc/self/fd/" + readFd),
        StandardCharsets.UTF_8)); OutputStream out = new FileOutputStream("/proc/self/fd/" + stderrFd, true)) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        out.write((rewrite.apply(line) + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
      }
    } catch (IOException | RuntimeException e) {
      // stderr itself is gone: nothing left to report it on
    }
  }

  private static native int[] redirect();

  private static native void restore(int savedFd);
}
