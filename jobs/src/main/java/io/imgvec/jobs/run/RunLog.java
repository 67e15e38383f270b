package io.imgvec.jobs.run;

import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.faiss.NativeStderr;
import io.imgvec.io.Json;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import org.apache.logging.log4j.ThreadContext;

/**
 * What every log line of a run carries: its run id, command and stage (log4j's thread context, inherited by the
 * threads a run starts: conf/jvm.options sets log4j2.isThreadContextMapInheritable), and with
 * {@code log.format=json} one JSON object per line on stderr (log4j2's JsonTemplateLayout), lines that native
 * libraries write to stderr included ({@link NativeStderr}: wrapped as warnings of logger {@code stderr}).
 */
public final class RunLog {
  private static volatile String runId;
  private static volatile String command;
  private static volatile String stage;

  private RunLog() {}

  /**
   * Starts a run's log context; switches to JSON lines when configured. Called before anything logs: log4j reads its
   * configuration on first use (reconfiguring later leaves Spark's loggers on the first one). Returns the run id.
   */
  public static String start(String command, ImgvecConfig config) {
    RunLog.runId = UUID.randomUUID().toString();
    RunLog.command = command;
    ThreadContext.put("run_id", runId);
    ThreadContext.put("command", command);
    stage("start");
    if (config.get(ConfigKeys.LOG_FORMAT).equals("json")) {
      System.setProperty("log4j2.configurationFile",
          RunLog.class.getResource("/imgvec/log4j2-json.properties").toString());
      NativeStderr.rewriteLines(RunLog::asJson);
    }
    return runId;
  }

  public static void stage(String stage) {
    RunLog.stage = stage;
    ThreadContext.put("stage", stage);
  }

  /** A line on stderr as a log event: log4j's own lines are JSON already, others (native libraries') are wrapped. */
  private static String asJson(String line) {
    if (line.startsWith("{") && line.endsWith("}")) {
      return line;
    }
    Map<String, Object> event = new LinkedHashMap<>();
    event.put("time", Instant.now().toString());
    event.put("level", "WARN");
    event.put("logger", "stderr");
    event.put("message", line);
    event.put("thread", "native");
    event.put("run_id", runId);
    event.put("command", command);
    event.put("stage", stage);
    return Json.line(event);
  }
}
