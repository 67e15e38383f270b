package io.imgvec;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** The real test images under {@code testdata/images} (provenance in testdata/README.md). */
public final class TestImages {
  public static final Path ROOT = locate();

  private TestImages() {}

  private static Path locate() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isDirectory(dir.resolve("testdata/images"))) {
        return dir.resolve("testdata/images");
      }
    }
    throw new IllegalStateException("testdata/images not found above " + Path.of("").toAbsolutePath());
  }

  public static List<Path> list(String folder) {
    try (Stream<Path> files = Files.list(ROOT.resolve(folder))) {
      return files.filter(Files::isRegularFile).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static byte[] bytes(String relative) {
    try {
      return Files.readAllBytes(ROOT.resolve(relative));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
