package io.imgvec.serving;

import io.imgvec.index.PublishedIndex;
import io.imgvec.io.LocalFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.hadoop.conf.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The version being served, and hot reload: a poller reads {@code LATEST}; a new version is loaded beside the
 * current one (checksums verified by {@link PublishedIndex#open}), swapped in atomically, and the old one is closed
 * when its last in-flight search releases it. A version that fails to load is logged and counted, and the current
 * one keeps serving.
 */
final class IndexHolder implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(IndexHolder.class);

  /** A loaded version with a reference count: the holder's own reference plus one per search using it. */
  static final class Lease implements AutoCloseable {
    private final PublishedIndex index;
    private final Path localFiles;
    private final AtomicInteger refs = new AtomicInteger(1);

    private Lease(PublishedIndex index, Path localFiles) {
      this.index = index;
      this.localFiles = localFiles;
    }

    PublishedIndex index() {
      return index;
    }

    private boolean tryAcquire() {
      for (int n = refs.get(); n > 0; n = refs.get()) {
        if (refs.compareAndSet(n, n + 1)) {
          return true;
        }
      }
      return false; // already retired and closed
    }

    @Override
    public void close() {
      if (refs.decrementAndGet() == 0) {
        index.close();
        deleteQuietly(localFiles);
      }
    }
  }

  /** What the holder reports to metrics: loads and failed loads. */
  interface Listener {
    void loaded(PublishedIndex index);

    void loadFailed(String version, Exception e);
  }

  private final String uri;
  private final Configuration conf;
  private final Path cache;
  private final PublishedIndex.LoadOptions options;
  private final Listener listener;
  private final AtomicReference<Lease> current = new AtomicReference<>();
  private final ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "imgvec-index-poller");
    t.setDaemon(true);
    return t;
  });
  /** The last version that failed to load: not retried until LATEST names another. */
  private volatile String failedVersion;

  IndexHolder(String uri, Configuration conf, Path cache, PublishedIndex.LoadOptions options, Listener listener) {
    this.uri = uri;
    this.conf = conf;
    this.cache = cache;
    this.options = options;
    this.listener = listener;
  }

  /** Loads the current version (failing if there is none), then polls LATEST every {@code pollSeconds}. */
  void start(int pollSeconds) throws IOException {
    swapIn(load());
    poller.scheduleWithFixedDelay(this::poll, pollSeconds, pollSeconds, TimeUnit.SECONDS);
  }

  /** The version to search, held until the lease is closed; null before the first load. */
  Lease acquire() {
    for (;;) {
      Lease lease = current.get();
      if (lease == null || lease.tryAcquire()) {
        return lease;
      }
    }
  }

  /** Checks LATEST now; true if a new version was swapped in. */
  boolean poll() {
    try {
      String latest = PublishedIndex.latestVersion(uri, conf);
      Lease lease = current.get();
      if (latest == null || latest.equals(failedVersion)
          || lease != null && latest.equals(lease.index().version())) {
        return false;
      }
      swapIn(load());
      return true;
    } catch (Exception e) {
      String version = latestOrUnknown();
      failedVersion = version;
      LOG.warn("could not load version {} of {}; still serving {}: {}", version, uri, servedVersion(), e.toString());
      listener.loadFailed(version, e);
      return false;
    }
  }

  private Lease load() throws IOException {
    Path dir = Files.createTempDirectory(Files.createDirectories(cache), "version-");
    try {
      return new Lease(PublishedIndex.open(uri, conf, dir, options), dir);
    } catch (IOException | RuntimeException e) {
      deleteQuietly(dir);
      throw e;
    }
  }

  private void swapIn(Lease fresh) {
    Lease old = current.getAndSet(fresh);
    listener.loaded(fresh.index());
    LOG.info("serving version {} of {} ({} vectors)", fresh.index().version(), uri, fresh.index().size());
    if (old != null) {
      old.close(); // the holder's reference: closed for real once in-flight searches release theirs
    }
  }

  private String servedVersion() {
    Lease lease = current.get();
    return lease == null ? "nothing" : lease.index().version();
  }

  private String latestOrUnknown() {
    try {
      return String.valueOf(PublishedIndex.latestVersion(uri, conf));
    } catch (IOException e) {
      return "unknown";
    }
  }

  @Override
  public void close() {
    poller.shutdownNow();
    Lease lease = current.getAndSet(null);
    if (lease != null) {
      lease.close();
    }
  }

  private static void deleteQuietly(Path dir) {
    try {
      LocalFiles.deleteRecursively(dir);
    } catch (IOException e) {
      LOG.warn("could not delete {}: {}", dir, e.toString());
    }
  }
}
