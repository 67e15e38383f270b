package io.imgvec.image;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import org.opencv.core.Core;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads OpenCV's native library from a per-user cache, extracted there once per OpenCV version. OpenCV's own loader
 * extracts the 65 MB library into a fresh temporary directory in every process: about 0.3 s of every start. Other
 * platforms, or a cache that cannot be written, fall back to that loader.
 */
final class OpenCvLibrary {
  private static final Logger LOG = LoggerFactory.getLogger(OpenCvLibrary.class);

  private OpenCvLibrary() {}

  static void load() {
    URL library = OpenCvLibrary.class.getResource(resourcePath());
    if (library == null) {
      nu.pattern.OpenCV.loadLocally();
      return;
    }
    Path cache = Path.of(System.getProperty("imgvec.native-cache",
        Path.of(System.getProperty("user.home"), ".cache", "imgvec").toString()));
    try {
      System.load(extracted(library, cache.resolve(Core.NATIVE_LIBRARY_NAME + ".so")).toString());
    } catch (IOException | UnsatisfiedLinkError e) {
      LOG.debug("cannot use the OpenCV library cache {} ({}); extracting to a temporary directory", cache, e);
      nu.pattern.OpenCV.loadLocally();
    }
  }

  /** The bundled library's path in the OpenCV jar for this platform (Linux on x86_64 or ARMv8). */
  private static String resourcePath() {
    String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
    String arch = switch (System.getProperty("os.arch")) {
      case "amd64", "x86_64" -> "x86_64";
      case "aarch64" -> "ARMv8";
      default -> "unsupported";
    };
    return "/nu/pattern/opencv/" + (os.contains("linux") ? "linux" : "unsupported") + "/" + arch + "/lib"
        + Core.NATIVE_LIBRARY_NAME + ".so";
  }

  /**
   * {@code target}, extracted unless a copy of the same size is there. Written under a private name and moved into
   * place, so processes starting together never load a half-written copy.
   */
  private static Path extracted(URL library, Path target) throws IOException {
    long size = library.openConnection().getContentLengthLong();
    if (Files.isRegularFile(target) && Files.size(target) == size) {
      return target;
    }
    Files.createDirectories(target.getParent());
    Path partial = Files.createTempFile(target.getParent(), target.getFileName().toString(), ".partial");
    try (InputStream in = library.openStream()) {
      Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
      Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(partial);
    }
    return target;
  }
}
