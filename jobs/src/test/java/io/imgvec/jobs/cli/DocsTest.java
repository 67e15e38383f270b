package io.imgvec.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.imgvec.config.ConfigKeys;
import io.imgvec.io.Json;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.jobs.StandaloneCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The docs cannot drift from the code: every {@code bin/imgvec <command> --<flag>} and every setting they name exists,
 * and the configuration guide is what the code generates.
 */
class DocsTest {
  private static final Path HOME = StandaloneCluster.HOME;
  /** A command line in the docs, up to the end of its line (continuations joined). */
  private static final Pattern INVOCATION = Pattern.compile("bin/imgvec ([a-z][a-z-]*)((?:[^\\n`|]|\\\\\\n)*)");
  /** A row of the README's command table: command, then its options. */
  private static final Pattern COMMAND_ROW = Pattern.compile("(?m)^\\| `([a-z][a-z-]*)` \\| ([^|]*(?:\\\\\\|[^|]*)*) \\|");
  private static final Pattern RESULTS_FILE = Pattern.compile("bench/results/([\\w*.-]+\\.json)");
  private static final Pattern BOLD = Pattern.compile("\\*\\*([^*]+)\\*\\*");
  /** A number not part of a word (p50 is not 50). */
  private static final Pattern NUMBER = Pattern.compile("(?<![\\w.])-?\\d[\\d,]*(?:\\.\\d+)?");
  /** A setting named in backticks, alone or as key=value. */
  private static final Pattern SETTING = Pattern.compile("`(?:--)?([a-z]+(?:\\.[a-z0-9-]+)+)(?:=[^`]*)?`");
  /** Names in backticks that look like settings but are files or classes. */
  private static final Pattern NOT_A_SETTING = Pattern.compile(".*\\.(faiss|json|jsonl|gz|jar|properties|md|py|sh"
      + "|xml|csv|parquet|jpg|png|yaml|jsa|pom|txt|ipynb|java|log|pem|p12|crt|key|so|a|onnx|pt)$|io\\.imgvec\\..*"
      + "|org\\..*|com\\..*|software\\..*|ai\\.djl\\..*|spark\\..*|fs\\.s3a\\..*");

  @Test
  void everyCommandFlagAndSettingInTheDocsExists() throws IOException {
    CommandLine cli = JobCommands.commandLine(new JobCommands());
    Set<String> namespaces = ConfigKeys.names().stream().map(k -> k.substring(0, k.indexOf('.')))
        .collect(Collectors.toSet());
    Map<String, String> unknown = new TreeMap<>();
    for (Path doc : docs()) {
      String text = Files.readString(doc);
      Matcher m = INVOCATION.matcher(text);
      while (m.find()) {
        checkInvocation(cli, m.group(1), m.group(2).replace("\\\n", " "), doc, unknown);
      }
      Matcher row = COMMAND_ROW.matcher(text);
      while (row.find()) {
        checkInvocation(cli, row.group(1), row.group(2).replaceAll("[`\\\\]", " "), doc, unknown);
      }
      Matcher s = SETTING.matcher(text);
      while (s.find()) {
        String name = s.group(1);
        if (namespaces.contains(name.substring(0, name.indexOf('.'))) && !NOT_A_SETTING.matcher(name).matches()
            && !isSetting(name)) {
          unknown.put(HOME.relativize(doc) + ": `" + name + "`", "no such setting");
        }
      }
    }
    assertEquals(Map.of(), unknown);
  }

  @Test
  void theConfigurationGuideIsWhatTheCodeGenerates() throws Exception {
    Path generated = Files.createTempFile("configuration", ".md");
    try {
      Main.run("config", List.of("--write", generated.toString()));
      assertEquals(Files.readString(generated), Files.readString(HOME.resolve("docs/configuration.md")),
          "regenerate it: bin/imgvec config --write docs/configuration.md");
    } finally {
      Files.delete(generated);
    }
  }

  @Test
  void everyVariableTheLauncherReadsIsDocumented() throws IOException {
    Set<String> read = new TreeSet<>();
    Matcher m = Pattern.compile("\\$\\{?([A-Z][A-Z_]+)").matcher(Files.readString(HOME.resolve("bin/imgvec")));
    while (m.find()) {
      read.add(m.group(1));
    }
    read.removeAll(Set.of("BASH_SOURCE", "IMGVEC_HOME", "JAVA_OPENS", "LOCAL_CLASSPATH", "VERSION"));
    String guide = Files.readString(HOME.resolve("docs/configuration.md"));
    assertEquals(Set.of(), read.stream().filter(v -> !guide.contains("`" + v + "`")).collect(Collectors.toSet()));
  }

  /**
   * Every figure the benchmarks guide puts in bold is a value of the results files its section names (at the
   * precision shown; a percentage may be a stored share): headline numbers cannot drift from what was measured.
   */
  @Test
  void boldBenchmarkFiguresAreInTheirResultsFiles() throws IOException {
    List<Double> values = List.of();
    Map<String, String> unfounded = new TreeMap<>();
    for (String line : Files.readAllLines(HOME.resolve("docs/benchmarks.md"))) {
      Matcher named = RESULTS_FILE.matcher(line);
      if (line.startsWith("**") && named.find()) {
        values = new ArrayList<>();
        do {
          values.addAll(resultValues(named.group(1)));
        } while (named.find());
      }
      Matcher bold = BOLD.matcher(line);
      while (bold.find()) {
        Matcher number = NUMBER.matcher(bold.group(1).replace('\u2212', '-'));
        if (number.find() && !among(number.group().replace(",", ""), bold.group(1).contains("%"), values)) {
          unfounded.put(bold.group(1), line.substring(0, Math.min(80, line.length())));
        }
      }
    }
    assertEquals(Map.of(), unfounded, "bold figures found in no results file of their section");
  }

  /**
   * The benchmarks guide's table of results files names, for each, the date and commit the file itself records, and
   * every results file records its date, commit, command, machine and settings.
   */
  @Test
  void everyResultsFileRecordsWhereItsFiguresComeFromAsTheGuideSays() throws IOException {
    Map<String, String> table = new TreeMap<>();
    Matcher row = Pattern.compile("(?m)^\\| `bench/results/([^`]+\\.json)` \\| `[^`]+` \\| ([0-9-]+) \\| ([0-9a-f+a-z]+) \\|$")
        .matcher(Files.readString(HOME.resolve("docs/benchmarks.md")));
    while (row.find()) {
      table.put(row.group(1), row.group(2) + " " + row.group(3));
    }
    Map<String, String> recorded = new TreeMap<>();
    try (Stream<Path> files = Files.list(HOME.resolve("bench/results"))) {
      for (Path file : files.filter(f -> f.toString().endsWith(".json")).toList()) {
        JsonNode json = Json.MAPPER.readTree(file.toFile());
        for (String field : List.of("date", "commit", "command", "machine", "settings")) {
          assertTrue(json.hasNonNull(field), file.getFileName() + " records no " + field);
        }
        recorded.put(file.getFileName().toString(), json.get("date").asText().substring(0, 10) + " "
            + json.get("commit").asText());
      }
    }
    assertEquals(recorded, table, "the guide's table of results files, against what each file records");
  }

  private static boolean among(String shown, boolean percent, List<Double> values) {
    double value = Double.parseDouble(shown);
    int decimals = shown.contains(".") ? shown.length() - shown.indexOf('.') - 1 : 0;
    double tolerance = 0.5 * Math.pow(10, -decimals) + 1e-9;
    return values.stream().anyMatch(v -> Math.abs(v - value) <= tolerance || percent
        && Math.abs(100 * v - value) <= tolerance);
  }

  /** Every number in the results files a section names ({@code index-*.json} style names included). */
  private static List<Double> resultValues(String name) throws IOException {
    List<Double> out = new ArrayList<>();
    Pattern glob = Pattern.compile(name.replace(".", "\\.").replace("*", ".*"));
    try (Stream<Path> files = Files.list(HOME.resolve("bench/results"))) {
      for (Path file : files.filter(f -> glob.matcher(f.getFileName().toString()).matches()).toList()) {
        collect(Json.MAPPER.readTree(file.toFile()), out);
      }
    }
    return out;
  }

  private static void collect(JsonNode node, List<Double> out) {
    if (node.isNumber()) {
      out.add(node.asDouble());
    }
    node.forEach(child -> collect(child, out));
  }

  private static void checkInvocation(CommandLine cli, String command, String rest, Path doc,
      Map<String, String> unknown) {
    if (command.equals("submit")) {
      int separator = rest.indexOf(" -- ");
      if (separator >= 0) {
        String[] after = rest.substring(separator + 4).trim().split("\\s+", 2);
        if (after[0].startsWith("<")) {
          return; // the form, not an example
        }
        checkInvocation(cli, after[0], after.length > 1 ? after[1] : "", doc, unknown);
      }
      return;
    }
    CommandLine sub = cli.getSubcommands().get(command);
    String where = HOME.relativize(doc) + ": bin/imgvec " + command;
    if (sub == null) {
      unknown.put(where, "no such command");
      return;
    }
    Set<String> options = sub.getCommandSpec().optionsMap().keySet();
    for (String token : rest.trim().split("[\\s\\[\\]()]+")) {
      if (!token.startsWith("-") || token.equals("--") || token.startsWith("---")) {
        continue;
      }
      String name = token.contains("=") ? token.substring(0, token.indexOf('=')) : token;
      boolean known = options.contains(name) || token.contains("=") && isSetting(name.substring(2));
      if (!known) {
        unknown.put(where + " " + token, "no such option or setting");
      }
    }
  }

  private static boolean isSetting(String name) {
    return ConfigKeys.names().contains(name) || name.startsWith("kafka.") && !name.equals("kafka.");
  }

  private static List<Path> docs() throws IOException {
    List<Path> docs = new ArrayList<>(List.of(HOME.resolve("README.md")));
    try (Stream<Path> files = Files.list(HOME.resolve("docs"))) {
      files.filter(p -> p.toString().endsWith(".md")).sorted().forEach(docs::add);
    }
    return docs;
  }
}
