package io.imgvec.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.imgvec.io.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** {@code bin/imgvec} run as users run it, from tests: stdout and stderr to {@code <dir>/<name>.out|.err}. */
public final class ImgvecProcess {
  private ImgvecProcess() {}

  /** Starts {@code bin/imgvec <command> <args>}; {@code name} is the command, optionally followed by digits. */
  static Process start(Path dir, String name, String... args) throws Exception {
    return start(dir, name, Map.of(), args);
  }

  /** {@link #start(Path, String, String...)} with {@code env} added ({@code IMGVEC_JAVA_OPTS} appended to). */
  static Process start(Path dir, String name, Map<String, String> env, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(StandaloneCluster.HOME.resolve("bin/imgvec").toString(),
        name.replaceAll("\\d+$", "")));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(dir.resolve(name + ".out").toFile())
        .redirectError(dir.resolve(name + ".err").toFile());
    pb.environment().putAll(env);
    pb.environment().put("IMGVEC_JAVA_OPTS", ("-Xmx2g " + env.getOrDefault("IMGVEC_JAVA_OPTS", "")).strip());
    pb.environment().put("IMGVEC_CDS", "false"); // bin/imgvec then execs the JVM: a kill reaches the job itself
    pb.environment().put("IMGVEC_BUILD", "never"); // Maven has just built it; a nested build would race this one
    return pb.start();
  }

  /** Runs {@code bin/imgvec <command>} to its end; returns its run summary (the last stdout line). */
  static JsonNode run(Path dir, String name, String... args) throws Exception {
    Process p = start(dir, name, args);
    assertTrue(p.waitFor(5, TimeUnit.MINUTES), name + " did not finish");
    assertEquals(0, p.exitValue(), Files.readString(dir.resolve(name + ".err")));
    List<String> lines = Files.readAllLines(dir.resolve(name + ".out"));
    return Json.MAPPER.readTree(lines.get(lines.size() - 1));
  }
}
