package io.imgvec.faiss;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** The JNI entry points; loads the shim packaged in this jar on first use. */
final class FaissNative {
  private static final String RESOURCE = "/native/linux-x86_64/libimgvec_faiss.so";

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
    try (InputStream in = FaissNative.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        return new FaissException("native library " + RESOURCE + " is missing from the imgvec-faiss jar; it is built"
            + " by Maven when Debian packages libfaiss-dev and libopenblas-dev are installed");
      }
      Path tmp = Files.createTempFile("imgvec_faiss", ".so");
      Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
      tmp.toFile().deleteOnExit();
      System.load(tmp.toString());
      return null;
    } catch (IOException e) {
      return new FaissException("cannot extract the FAISS native library: " + e.getMessage(), e);
    } catch (UnsatisfiedLinkError e) {
      return new FaissException("cannot load the FAISS native library (" + e.getMessage() + "); it needs the"
          + " OpenBLAS and OpenMP runtime libraries: apt-get install -y libopenblas0 libgomp1", e);
    }
  }

  static native long create(int dimension, String factory, int metric);

  static native void free(long handle);

  static native int train(long handle, long n, float[] vectors, double maxListFactor);

  static native void add(long handle, long n, float[] vectors, long[] ids);

  static native void search(long handle, long n, float[] queries, int k, int nprobe, int efSearch, long maxCodes,
      long[] allowedIds, float[] distances, long[] labels);

  static native void write(long handle, String path);

  static native long read(String path, boolean mmap);

  static native long makeReconstructible(long handle);

  static native void reconstruct(long handle, long id, float[] out);

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
