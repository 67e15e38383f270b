package io.imgvec.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.imgvec.TestImages;
import io.imgvec.io.Json;
import io.imgvec.jobs.ChildJvm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * User errors as users see them: each command run as its own JVM, as bin/imgvec runs it, must exit 2 with one
 * line {@code imgvec <command>: <reason>} (and perhaps a hint) on stderr, no stack trace, nothing on stdout.
 */
public class CliErrorsTest {
  private static final Path HOME = TestImages.ROOT.getParent().getParent();

  @TempDir Path tmp;

  private record Run(int exit, String stdout, List<String> stderr) {}

  @Test
  void missingManifest() throws Exception {
    assertUserError("embed", "imgvec embed: manifest not found: " + tmp.resolve("nope.csv"),
        "embed", "--manifest", tmp.resolve("nope.csv").toString(), "--output", tmp.resolve("out").toString());
  }

  @Test
  void unwritableOutput() throws Exception {
    Path file = Files.writeString(tmp.resolve("a-file"), "x");
    assertUserError("embed", "imgvec embed: cannot write to output " + file.resolve("out"),
        "embed", "--manifest", manifest().toString(), "--output", file.resolve("out").toString());
  }

  @Test
  void inputThatIsNotAnEmbeddingsDataset() throws Exception {
    Files.createDirectories(tmp.resolve("empty"));
    assertUserError("build-index", "imgvec build-index: " + tmp.resolve("empty") + " holds no Parquet files",
        "build-index", "--embeddings", tmp.resolve("empty").toString(), "--output", tmp.resolve("idx").toString());
  }

  @Test
  void indexLocationWithoutLatest() throws Exception {
    assertUserError("query", "imgvec query: no published index at " + tmp,
        "query", "--index", tmp.toString(), "--vector", "[1, 2]");
  }

  @Test
  void badFlagsAndValues() throws Exception {
    assertUserError("embed", "imgvec embed: unknown option '--outptu' for embed",
        "embed", "--manifest", "m.csv", "--outptu", "x");
    assertUserError("embed", "imgvec embed: bad value '0' for inference.batch-size: must be between 1 and 4096",
        "embed", "--manifest", "m.csv", "--output", "x", "--inference.batch-size=0");
    assertUserError("embedd", "imgvec embedd: unknown command 'embedd'", "embedd");
  }

  @Test
  void modelWithoutTheConfiguredOutputFailsBeforeWritingAnything() throws Exception {
    Path out = tmp.resolve("out");
    Run run = assertUserError("embed", "imgvec embed: model mobilenet_v2_nsfwjs@sha256:",
        "embed", "--manifest", manifest().toString(), "--output", out.toString(), "--model.output=no_such_output");
    assertTrue(run.stderr().get(0).contains("no output named 'no_such_output'; outputs: 0=probabilities(1, 5),"
        + " 1=embedding(1, 1280)"), run.stderr().get(0));
    assertFalse(Files.exists(out), "nothing may be written");
  }

  @Test
  void helpListsCommandsAndOptions() throws Exception {
    Run all = run("--help");
    assertEquals(0, all.exit());
    for (String command : List.of("embed", "build-index", "query", "demo", "config")) {
      assertTrue(all.stdout().contains("\n  " + command + " "), all.stdout());
    }
    Run embed = run("embed", "--help");
    assertEquals(0, embed.exit());
    for (String option : List.of("--manifest=<uri>", "--output=<uri>", "--model=<uri>", "--config=<file>")) {
      assertTrue(embed.stdout().contains(option), embed.stdout());
    }
  }

  @Test
  void jsonLogLinesCarryTheRunIdCommandAndStage() throws Exception {
    StringBuilder rows = new StringBuilder("image_id,uri\n"); // every test photo: PNGs whose iCCP chunks libpng warns of
    for (Path photo : TestImages.list("photos")) {
      rows.append(photo.getFileName()).append(',').append(photo.toUri()).append('\n');
    }
    Path manifest = Files.writeString(tmp.resolve("photos.csv"), rows);
    Run run = run("embed", "--manifest", manifest.toString(), "--output", tmp.resolve("out").toString(),
        "--log.format=json");
    assertEquals(0, run.exit(), String.join("\n", run.stderr()));
    List<String> lines = Files.readAllLines(tmp.resolve("stderr"));
    assertTrue(lines.stream().anyMatch(l -> l.contains("loaded model")), String.join("\n", lines));
    assertTrue(lines.stream().anyMatch(l -> l.contains("libpng warning")), "a native library's line, wrapped: "
        + String.join("\n", lines));
    String runId = null;
    for (String line : lines) {
      JsonNode event = Json.MAPPER.readTree(line); // every line is one JSON object
      for (String field : List.of("time", "level", "logger", "message", "run_id", "command", "stage")) {
        assertTrue(event.hasNonNull(field), field + " missing in " + line);
      }
      assertEquals("embed", event.get("command").asText());
      runId = runId == null ? event.get("run_id").asText() : runId;
      assertEquals(runId, event.get("run_id").asText(), "one run id for the whole run");
    }
  }

  /** Exit 2; stderr's lines (ignoring log lines) are the reason starting with {@code first} and at most a hint. */
  private Run assertUserError(String command, String first, String... args) throws Exception {
    Run run = run(args);
    String all = String.join("\n", run.stderr());
    assertEquals(2, run.exit(), all);
    assertEquals("", run.stdout());
    assertTrue(run.stderr().get(0).startsWith(first), all);
    assertTrue(run.stderr().size() == 1 || run.stderr().size() == 2 && run.stderr().get(1).startsWith("  hint: "),
        all);
    assertFalse(all.contains("\tat ") || all.contains("Exception"), "no stack trace: " + all);
    return run;
  }

  /** {@code imgvec <args>} in a JVM of its own; stderr without log4j's lines (time, level, logger: message). */
  private Run run(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(ChildJvm.command("1g", System.getProperty("java.class.path"),
        "-Dai.djl.offline=true", "-Dimgvec.home=" + tmp,
        "-Dlog4j2.configurationFile=" + HOME.resolve("conf/log4j2.properties")));
    cmd.add(Main.class.getName());
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectError(tmp.resolve("stderr").toFile())
        .redirectOutput(tmp.resolve("stdout").toFile()).start();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "imgvec " + String.join(" ", args) + " did not finish");
    List<String> stderr = Files.readAllLines(tmp.resolve("stderr"), StandardCharsets.UTF_8).stream()
        .filter(l -> !l.matches("^\\d\\d:\\d\\d:\\d\\d \\w+ \\S+: .*")).toList();
    return new Run(p.exitValue(), Files.readString(tmp.resolve("stdout")), stderr);
  }

  private Path manifest() throws IOException {
    Path photo = TestImages.list("photos").get(0);
    return Files.writeString(tmp.resolve("m.csv"), "image_id,uri\na," + photo.toUri() + "\n");
  }
}
