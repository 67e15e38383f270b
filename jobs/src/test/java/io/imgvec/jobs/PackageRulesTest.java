package io.imgvec.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Each job package says in its package-info which of its classes touch Spark; the sources must agree. */
class PackageRulesTest {
  private static final Path SOURCES = Path.of("src/main/java/io/imgvec/jobs");
  private static final Pattern SPARK_LINE = Pattern.compile("^ \\* <p>Spark: (.+)\\.$", Pattern.MULTILINE);

  @Test
  void sparkStaysInTheClassesEachPackageNames() throws IOException {
    List<Path> packages;
    try (Stream<Path> files = Files.walk(SOURCES)) {
      packages = files.filter(p -> p.getFileName().toString().equals("package-info.java")).map(Path::getParent)
          .toList();
    }
    assertEquals(7, packages.size(), "job packages: " + packages);
    for (Path dir : packages) {
      Matcher m = SPARK_LINE.matcher(Files.readString(dir.resolve("package-info.java")));
      assertTrue(m.find(), dir + "/package-info.java says no '<p>Spark: ...' line");
      Set<String> declared = m.group(1).equals("none") ? Set.of() : new TreeSet<>(Arrays.asList(m.group(1)
          .split(", ")));
      assertEquals(declared, sparkClasses(dir), dir + ": classes importing Spark");
    }
  }

  @Test
  void theRootPackageHoldsNoCode() throws IOException {
    try (Stream<Path> files = Files.list(SOURCES)) {
      assertEquals(List.of(), files.filter(Files::isRegularFile).toList());
    }
  }

  private static Set<String> sparkClasses(Path dir) throws IOException {
    Set<String> out = new TreeSet<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        if (Files.readString(f).contains("org.apache.spark.")) {
          out.add(f.getFileName().toString().replace(".java", ""));
        }
      }
    }
    out.remove("package-info");
    return out;
  }
}
