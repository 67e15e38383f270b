package io.imgvec.faiss;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** The JNI entry points; loads the shim packaged in this jar on first use. */
final class FaissNative {
  private static final String DIR = "/native/linux-x86_64/";
  /** Loaded first: the shim needs it and a stock EMR node may not have it (it cannot be linked in statically). */
  private static final String GOMP = "libgomp.so.1";
  private static final String SHIM = "libimgvec_faiss.so";

  /** Why the library could not be loaded, or null once it is: kept so every use reports the same reason. */
  private static final FaissException LOAD_FAILURE = load();

  private FaissNative() {}

  /**
   * Throws {@link FaissException} with the reason if the library could not be loaded (every time it is called,
   * not an {@code ExceptionInInitializerError} once and {@code NoClassDefFoundError} after).
   */
  static void ensureLoaded() {
    if (LOAD_FAILURE != null) {
      throw new FaissException(LOAD_FAILURE.getMessage(), LOAD_FAILURE);
    }
  }

  private static FaissException load() {
    String os = System.getProperty("os.name") + "/" + System.getProperty("os.arch");
    if (!os.equals("Linux/amd64")) {
      return new FaissException("imgvec-faiss ships a native library for Linux/amd64 only, not " + os);
    }
    try {
      Path dir = Files.createTempDirectory("imgvec-faiss");
      dir.toFile().deleteOnExit();
      for (String name : new String[] {GOMP, SHIM}) {
        System.load(extract(name, dir).toString());
      }
      return null;
    } catch (IOException e) {
      return new FaissException("cannot extract the FAISS native library: " + e.getMessage(), e);
    } catch (UnsatisfiedLinkError e) {
      return new FaissException("cannot load the FAISS native library: " + e.getMessage(), e);
    }
  }

  private static Path extract(String name, Path dir) throws IOException {
    try (InputStream in = FaissNative.class.getResourceAsStream(DIR + name)) {
      if (in == null) {
        throw new IOException(DIR + name + " is missing from the imgvec-faiss jar; it is built by Maven when Debian"
            + " packages libfaiss-dev and libopenblas-dev are installed");
      }
      Path file = dir.resolve(name);
      Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
      file.toFile().deleteOnExit();
      return file;
    }
  }

  static native long create(int dimension, String factory, int metric);

  static native void free(long handle);

  static native int train(long handle, long n, float[] vectors, double maxListFactor, int kmeansIterations);

  static native void trainFrom(long handle, long donor, long n, float[] vectors, boolean quick);

  static native void writeEntries(long handle, String path);

  static native void mergeEntries(long handle, String path);

  static native void add(long handle, long n, float[] vectors, long[] ids);

  static native long removeIds(long handle, long[] ids);

  static native void growLists(long handle, long count);

  static native void search(long handle, long n, float[] queries, int k, int nprobe, int efSearch, long maxCodes,
      ByteBuffer allowedBitmap, long[] probedLists, float[] probedDistances, float[] distances, long[] labels);

  static native int probe(long handle, long n, float[] queries, int nprobe, int efSearch, long[] lists,
      float[] listDistances);

  static native void searchWork(long handle, long n, float[] queries, int k, int nprobe, int efSearch,
      long maxCodes, boolean search, long[] counts);

  static native void sq8Distances(ByteBuffer[] chunks, int rowsPerChunk, float[] query, float[] step, boolean l2,
      long[] ids, int offset, int count, float[] distances);

  static native void write(long handle, String path);

  static native long read(String path, boolean mmap);

  static native long makeReconstructible(long handle);

  static native void reconstruct(long handle, long id, float[] out);

  static native void setSearchDefaults(long handle, int nprobe, int efSearch, long maxCodes);

  static native byte[] serialize(long handle);

  static native long deserialize(byte[] bytes);

  static native long[] listSizes(long handle);

  static native long ntotal(long handle);

  static native int dimension(long handle);

  static native int metric(long handle);

  static native boolean isTrained(long handle);

  static native void setNumThreads(int threads);

  static native int maxThreads();
}
