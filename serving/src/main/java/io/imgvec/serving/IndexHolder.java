package io.imgvec.serving;

import io.imgvec.io.LocalFiles;
import io.imgvec.published.IndexFetcher;
import io.imgvec.published.PublishedIndex;
import io.imgvec.published.UntrustedIndexException;
import io.imgvec.util.UserException;
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
 * when its last in-flight search releases it. Whatever a poll throws (an {@link OutOfMemoryError} included) is
 * logged and counted, the current version keeps serving and the poller keeps polling: a refused version (its
 * manifest breaks the publisher's rules) is not tried again until LATEST names another; other failures are retried,
 * the wait doubling from the poll interval up to {@value #MAX_BACKOFF_SECONDS} s.
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

  /** What the holder reports to metrics: loads, failed loads (refused: the version broke the rules) and polls. */
  interface Listener {
    void loaded(PublishedIndex index);

    void loadFailed(String version, Throwable e, boolean refused);

    void polled();
  }

  /** The last failed poll or load, for /readyz. */
  record Failure(String version, String error, long atMillis) {}

  static final int MAX_BACKOFF_SECONDS = 300;
  /** Tests: runs at the start of every load (e.g. to throw an OutOfMemoryError). */
  static volatile Runnable loadHook = () -> { };

  private final String uri;
  private final Configuration conf;
  private final Path cache;
  private final PublishedIndex.LoadOptions options;
  private final Listener listener;
  private final VersionRule rule;
  private final AtomicReference<Lease> current = new AtomicReference<>();
  private final ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "imgvec-index-poller");
    t.setDaemon(true);
    return t;
  });
  /** The last version refused as untrusted: not tried again until LATEST names another. */
  private volatile String refusedVersion;
  private volatile Failure lastFailure;
  private volatile long lastSuccessfulPollMillis = System.currentTimeMillis();
  private int pollSeconds;
  /** Polls still to skip before retrying a failure; only the poller thread touches it. */
  private int backoffLeft;
  private int backoffPolls;

  /** Why a loaded version must not be served (a message), or null to serve it. */
  interface VersionRule {
    String refusal(PublishedIndex index);
  }

  IndexHolder(String uri, Configuration conf, Path cache, PublishedIndex.LoadOptions options, VersionRule rule,
      Listener listener) {
    this.rule = rule;
    this.uri = uri;
    this.conf = conf;
    this.cache = cache;
    this.options = options;
    this.listener = listener;
  }

  /** Loads the current version (failing if there is none), then polls LATEST every {@code pollSeconds}. */
  void start(int pollSeconds) throws IOException {
    this.pollSeconds = pollSeconds;
    try {
      swapIn(load());
    } catch (UntrustedIndexException e) {
      throw new UserException("refused the index at " + uri + ": " + e.getMessage(), null);
    }
    poller.scheduleWithFixedDelay(this::scheduledPoll, pollSeconds, pollSeconds, TimeUnit.SECONDS);
  }

  /** The poller's turn: skipped while backing off after a failure; never throws (that would end the schedule). */
  private void scheduledPoll() {
    if (backoffLeft > 0) {
      backoffLeft--;
      return;
    }
    if (pollOnce() == Outcome.FAILED) {
      backoffPolls = Math.min(Math.max(1, 2 * backoffPolls), Math.max(1, MAX_BACKOFF_SECONDS / pollSeconds));
      backoffLeft = backoffPolls - 1;
    } else {
      backoffPolls = 0;
    }
  }

  /** Milliseconds since LATEST was last read and acted on without failing. */
  long millisSinceSuccessfulPoll() {
    return System.currentTimeMillis() - lastSuccessfulPollMillis;
  }

  /** The last failure, or null if there was none. */
  Failure lastFailure() {
    return lastFailure;
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
    return pollOnce() == Outcome.SWAPPED;
  }

  private enum Outcome { SWAPPED, UNCHANGED, REFUSED, FAILED }

  private Outcome pollOnce() {
    try {
      String latest = IndexFetcher.latestVersion(uri, conf);
      Lease lease = current.get();
      if (latest == null || latest.equals(refusedVersion)
          || lease != null && latest.equals(lease.index().version())) {
        succeeded();
        return Outcome.UNCHANGED;
      }
      swapIn(load());
      succeeded();
      return Outcome.SWAPPED;
    } catch (Throwable e) { // an Error too: the poller must outlive anything one version does
      boolean refused = e instanceof UntrustedIndexException;
      String version = latestOrUnknown();
      if (refused) {
        refusedVersion = version;
      }
      lastFailure = new Failure(version, e.toString(), System.currentTimeMillis());
      LOG.warn("{} version {} of {}; still serving {}: {}", refused ? "refused" : "could not load", version, uri,
          servedVersion(), e.toString());
      listener.loadFailed(version, e, refused);
      return refused ? Outcome.REFUSED : Outcome.FAILED;
    }
  }

  private void succeeded() {
    lastSuccessfulPollMillis = System.currentTimeMillis();
    listener.polled();
  }

  private Lease load() throws IOException {
    loadHook.run();
    Path dir = Files.createTempDirectory(Files.createDirectories(cache), "version-");
    try {
      PublishedIndex index = PublishedIndex.open(uri, conf, dir, options);
      String refusal = rule.refusal(index);
      if (refusal != null) {
        index.close();
        throw new UntrustedIndexException("version " + index.version() + ": " + refusal);
      }
      return new Lease(index, dir);
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
      return String.valueOf(IndexFetcher.latestVersion(uri, conf));
    } catch (IOException e) {
      return "unknown";
    }
  }

  /** Stops the poller and waits for a load in progress to end, then closes the served version. */
  @Override
  public void close() {
    poller.shutdownNow();
    try {
      if (!poller.awaitTermination(60, TimeUnit.SECONDS)) {
        LOG.warn("the index poller did not stop within 60 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
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
