package io.imgvec.jobs.run;

import io.imgvec.io.Json;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** The machine-readable result of a job: written as {@code _summary.json} and printed as the job's last line. */
public final class RunSummary {
  private final Map<String, Object> fields = new LinkedHashMap<>();

  public RunSummary(String command) {
    fields.put("command", command);
  }

  public RunSummary put(String key, Object value) {
    fields.put(key, value);
    return this;
  }

  public Object get(String key) {
    return fields.get(key);
  }

  public Map<String, Object> fields() {
    return fields;
  }

  public String toJson() {
    return Json.line(fields);
  }

  /** Writes {@code <dir>/_summary.json} through the Hadoop FileSystem (local, s3a, hdfs). */
  public void writeTo(String dir, Configuration conf) throws IOException {
    Path path = new Path(dir, "_summary.json");
    FileSystem fs = path.getFileSystem(conf);
    try (OutputStream out = fs.create(path, true)) {
      out.write(toJson().getBytes(StandardCharsets.UTF_8));
      out.write('\n');
    }
  }
}
