package io.imgvec.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgvec.published.PublishedIndex;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PublishTest {
  @TempDir
  Path tmp;

  @Test
  void versionNamesSortInPublicationOrderEvenWithinOneMillisecond() throws Exception {
    IndexBuilder.BuiltIndex built = new IndexBuilder(ArrayVectorSource.clustered(100, 4, 2, 1),
        IndexBuilderTest.options(Map.of()), s -> {}).build(tmp.resolve("b"));
    List<String> published = new java.util.ArrayList<>();
    for (int i = 0; i < 6; i++) {
      published.add((String) IndexPublisher.publish(built, tmp.resolve("pub").toUri().toString(), 10,
          new Configuration()).get("version"));
    }
    List<String> sorted = new java.util.ArrayList<>(published);
    sorted.sort(null);
    assertEquals(published, sorted);
    assertEquals(published.get(5), Files.readString(tmp.resolve("pub/LATEST")).trim());
  }

  @Test
  void readerPollingLatestNeverSeesAPartialVersion() throws Exception {
    String root = tmp.resolve("pub").toUri().toString();
    Configuration conf = new Configuration();
    // Each version has a different size: a reader mixing files of two versions fails the checksum, id map or
    // count checks.
    List<IndexBuilder.BuiltIndex> builds = new java.util.ArrayList<>();
    for (int v = 0; v < 8; v++) {
      builds.add(new IndexBuilder(ArrayVectorSource.clustered(2000 + 100 * v, 16, 10, v),
          IndexBuilderTest.options(Map.of("index.eval-queries", "0")), s -> {}).build(tmp.resolve("b" + v)));
    }
    IndexPublisher.publish(builds.get(0), root, 3, conf);

    AtomicBoolean publishing = new AtomicBoolean(true);
    ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
    Set<String> seen = java.util.Collections.synchronizedSet(new HashSet<>());
    AtomicInteger completed = new AtomicInteger();
    Thread reader = new Thread(() -> {
      int reads = 0;
      while (publishing.get() || reads < 5) {
        try (PublishedIndex index = PublishedIndex.open(root, conf, tmp.resolve("cache-" + reads))) {
          long count = ((Number) index.manifest().get("count")).longValue();
          assertEquals(count, index.size());
          assertEquals(1, index.search(new float[16], 1).size());
          seen.add(index.version());
        } catch (Throwable t) {
          failures.add(t);
        }
        reads++;
        completed.incrementAndGet();
      }
    });
    reader.start();
    Set<String> published = new HashSet<>();
    for (int v = 1; v < builds.size(); v++) {
      published.add(String.valueOf(IndexPublisher.publish(builds.get(v), root, 3, conf).get("version")));
      // the second read to end from now started after this publish: it reads this version (or a broken one)
      int target = completed.get() + 2;
      long deadline = System.nanoTime() + 60_000_000_000L;
      while (completed.get() < target && System.nanoTime() < deadline) {
        java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
      }
    }
    publishing.set(false);
    reader.join();
    assertTrue(failures.isEmpty(), () -> "reader saw a broken version: " + failures.peek());
    assertTrue(seen.containsAll(published), "reader saw versions " + seen + " of " + published);
    try (Stream<Path> versions = Files.list(tmp.resolve("pub/versions"))) {
      assertEquals(3, versions.count(), "retention keeps the newest 3");
    }
  }
}
