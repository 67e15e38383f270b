package io.imgvec.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelFilesTest {
  @TempDir Path tmp;

  @Test
  void executorsDownloadingTheSameModelAtOnceDoNotCollide() throws Exception {
    Path source = Files.write(tmp.resolve("model.onnx"), new byte[1 << 20]);
    Path cache = Files.createDirectories(tmp.resolve("cache"));
    Path dir = cache.resolve("remote-x");
    int racers = 4;
    CyclicBarrier start = new CyclicBarrier(racers);
    ExecutorService pool = Executors.newFixedThreadPool(racers);
    try {
      List<Future<?>> runs = new ArrayList<>();
      for (int i = 0; i < racers; i++) {
        runs.add(pool.submit(() -> {
          start.await();
          ModelFiles.download(source.toUri().toString(), dir, new Configuration());
          return null;
        }));
      }
      for (Future<?> run : runs) {
        run.get(); // each download returns normally, whoever renamed first
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(Files.size(source), Files.size(dir.resolve("model.onnx")));
    try (Stream<Path> left = Files.list(cache)) {
      assertEquals(List.of(dir), left.toList(), "the losers' copies are removed");
    }
    assertTrue(Files.isDirectory(dir));
  }
}
