package io.imgvec.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.imgvec.io.Json;
import io.imgvec.jobs.cli.Main;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * conf/emr as EMR would use it: every file parses; every spark-submit names a main class that exists and an imgvec
 * command whose options and settings the configuration validator accepts; the launcher prints the same submission.
 * An integration test: the launcher must find the packaged jars (else it would start a build of its own).
 */
public class EmrConfigIT {
  private static final Path EMR = StandaloneCluster.HOME.resolve("conf/emr");
  private static final Path SHIPPED_CONFIG = StandaloneCluster.HOME.resolve("conf/imgvec.properties");

  @Test
  void everyStepIsAValidSubmissionOfAnImgvecCommand() throws Exception {
    List<List<String>> submissions = new ArrayList<>();
    for (String file : List.of("steps.json", "stream-steps.json")) {
      for (JsonNode step : read(file)) {
        submissions.add(args(step.at("/HadoopJarStep/Args")));
      }
    }
    JsonNode states = read("nightly-state-machine.json").get("States");
    states.forEach(state -> submissions.add(args(state.at("/Parameters/Step/HadoopJarStep/Args"))));
    JsonNode serverless = read("serverless-job-run.json").at("/jobDriver/sparkSubmit");
    List<String> serverlessSubmit = new ArrayList<>(List.of("spark-submit"));
    serverlessSubmit.addAll(Arrays.asList(serverless.get("sparkSubmitParameters").asText().split("\\s+")));
    serverlessSubmit.add(serverless.get("entryPoint").asText());
    serverlessSubmit.addAll(args(serverless.get("entryPointArguments")));
    submissions.add(serverlessSubmit);
    assertEquals(7, submissions.size());
    for (List<String> submit : submissions) {
      assertEquals("spark-submit", submit.get(0));
      int jar = indexOfJar(submit);
      String mainClass = submit.get(submit.indexOf("--class") + 1);
      Class.forName(mainClass); // the app jar's entry point
      List<String> imgvec = withLocalConfig(submit.subList(jar + 1, submit.size()));
      Main.validate(imgvec.get(0), imgvec.subList(1, imgvec.size()));
      assertTrue(submit.get(jar).startsWith("s3://"), "EMR reads the app jar from S3: " + submit.get(jar));
    }
    String printed = printSubmit(submissions.get(0));
    assertTrue(printed.contains("--deploy-mode cluster") && printed.contains("io.imgvec.jobs.cli.Main")
        && printed.contains(" embed "), printed);
  }

  @Test
  void clusterConfigurationsCarryTheThreadLayoutAndTheGpuSetUp() throws Exception {
    JsonNode cpu = read("configurations.json").get(0);
    assertEquals("spark-defaults", cpu.get("Classification").asText());
    assertEquals("1", cpu.at("/Properties/spark.task.cpus").asText(), "one task per core (README, thread layout)");
    JsonNode gpu = read("gpu-configurations.json").get(0).get("Properties");
    assertEquals("1", gpu.get("spark.executor.resource.gpu.amount").asText());
    assertEquals(gpu.get("spark.executor.cores").asText(), gpu.get("spark.task.cpus").asText(),
        "one task per GPU, with the executor's cores for decoding");
    assertEquals("/usr/lib/spark/scripts/gpu/getGpusResources.sh",
        gpu.get("spark.executor.resource.gpu.discoveryScript").asText());
    JsonNode schedule = read("nightly-schedule.json");
    assertTrue(schedule.get("ScheduleExpression").asText().startsWith("cron("));
    assertTrue(schedule.at("/Target/Arn").asText().contains(":stateMachine:imgvec-nightly"));
    try (Stream<Path> files = Files.list(EMR)) {
      assertEquals(8, files.count(), "every file of conf/emr is covered here");
    }
  }

  @Test
  void uploadCommandPrintsTheCopiesTheStepsExpect() throws Exception {
    Process p = new ProcessBuilder(EMR.resolve("upload.sh").toString(), "s3://my-bucket/imgvec/")
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("s3://my-bucket/imgvec/imgvec-jobs-app.jar"), out);
    assertTrue(out.contains("s3://my-bucket/imgvec/conf/imgvec.properties"), out);
  }

  private static String printSubmit(List<String> submit) throws Exception {
    int jar = indexOfJar(submit);
    List<String> cmd = new ArrayList<>(List.of(StandaloneCluster.HOME.resolve("bin/imgvec").toString(), "submit",
        "--print"));
    cmd.addAll(submit.subList(1, jar).stream().filter(a -> !a.equals("--class") && !a.equals("io.imgvec.jobs.cli.Main"))
        .toList());
    cmd.add("--");
    cmd.addAll(withLocalConfig(submit.subList(jar + 1, submit.size())));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("IMGVEC_BUILD", "never"); // Maven has just built the jars
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(5, TimeUnit.MINUTES));
    assertEquals(0, p.exitValue(), out);
    return out;
  }

  private static int indexOfJar(List<String> submit) {
    for (int i = 1; i < submit.size(); i++) {
      if (submit.get(i).endsWith(".jar") && !submit.get(i - 1).startsWith("--")) {
        return i;
      }
    }
    throw new AssertionError("no application jar in " + submit);
  }

  /** The steps name the uploaded copy of conf/imgvec.properties; here it is the shipped file. */
  private static List<String> withLocalConfig(List<String> args) {
    return args.stream().map(a -> a.equals("imgvec.properties") ? SHIPPED_CONFIG.toString() : a).toList();
  }

  private static List<String> args(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(a -> out.add(a.asText()));
    return out;
  }

  private static JsonNode read(String file) throws Exception {
    return Json.MAPPER.readTree(Files.readString(EMR.resolve(file)));
  }
}
