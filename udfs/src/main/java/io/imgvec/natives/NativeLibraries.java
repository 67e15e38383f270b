package io.imgvec.natives;

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
 * The native libraries bundled in OpenCV's and ONNX Runtime's jars, taken from a per-user cache where they are
 * extracted once. Their own loaders extract them into a fresh temporary directory in every process (OpenCV 65 MB,
 * ONNX Runtime 21 MB: about 0.4 s of every start). Other platforms, or a cache that cannot be written, fall back to
 * those loaders. The cache is {@code ~/.cache/imgvec}, or {@code -Dimgvec.native-cache=<dir>}.
 */
public final class NativeLibraries {
  private static final Logger LOG = LoggerFactory.getLogger(NativeLibraries.class);
  private static final String ORT_PATH_PROPERTY = "onnxruntime.native.path";

  private NativeLibraries() {}

  /** Loads OpenCV's library. */
  public static void loadOpenCv() {
    String os = System.getProperty("os.name").toLowerCase(Locale.ROOT).contains("linux") ? "linux" : "other";
    String arch = switch (System.getProperty("os.arch")) {
      case "amd64", "x86_64" -> "x86_64";
      case "aarch64" -> "ARMv8";
      default -> "other";
    };
    String library = "lib" + Core.NATIVE_LIBRARY_NAME + ".so";
    try {
      System.load(cached("/nu/pattern/opencv/" + os + "/" + arch + "/" + library, "opencv", library).toString());
    } catch (IOException | UnsatisfiedLinkError e) {
      LOG.debug("OpenCV's library is not cached here ({}); its loader extracts it", e.toString());
      nu.pattern.OpenCV.loadLocally();
    }
  }

  /** Points ONNX Runtime at its cached libraries, unless a path is set; call before its engine starts. */
  public static void useCachedOnnxRuntime() {
    if (System.getProperty(ORT_PATH_PROPERTY) != null) {
      return;
    }
    String platform = System.getProperty("os.name").toLowerCase(Locale.ROOT).contains("linux")
        ? "linux-" + (System.getProperty("os.arch").equals("aarch64") ? "aarch64" : "x64") : "other";
    try {
      Path dir = null;
      for (String library : new String[] {"libonnxruntime.so", "libonnxruntime4j_jni.so"}) {
        dir = cached("/ai/onnxruntime/native/" + platform + "/" + library, "onnxruntime", library).getParent();
      }
      System.setProperty(ORT_PATH_PROPERTY, dir.toString());
    } catch (IOException e) {
      LOG.debug("ONNX Runtime's libraries are not cached here ({}); its loader extracts them", e.toString());
    }
  }

  /**
   * The bundled {@code resource} as a file in the cache's {@code folder}, extracted unless a copy of the same size
   * is there. Written under a private name and moved into place, so processes starting together never load a
   * half-written copy.
   */
  private static Path cached(String resource, String folder, String fileName) throws IOException {
    URL url = NativeLibraries.class.getResource(resource);
    if (url == null) {
      throw new IOException("no " + resource + " for this platform");
    }
    Path target = Path.of(System.getProperty("imgvec.native-cache",
        Path.of(System.getProperty("user.home"), ".cache", "imgvec").toString()), folder, fileName);
    long size = url.openConnection().getContentLengthLong();
    if (Files.isRegularFile(target) && Files.size(target) == size) {
      return target;
    }
    Files.createDirectories(target.getParent());
    Path partial = Files.createTempFile(target.getParent(), fileName, ".partial");
    try (InputStream in = url.openStream()) {
      Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
      Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(partial);
    }
    return target;
  }
}
