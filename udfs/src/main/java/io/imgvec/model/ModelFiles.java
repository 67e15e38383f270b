package io.imgvec.model;

import io.imgvec.io.Digests;
import io.imgvec.io.LocalFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;

/**
 * Resolves a model URI to one local model file and the engine that runs it. Embedded models are extracted from the
 * jar and remote ones (s3a:, hdfs:) copied once into a local cache directory.
 */
public final class ModelFiles {
  public static final String EMBEDDED_PREFIX = "embedded:";
  public static final String PYTORCH = "PyTorch";
  public static final String ONNX = "OnnxRuntime";

  /** A local model file with its engine, the model_id and the output names, when a sidecar lists them. */
  public record Resolved(Path file, String engine, String modelId, List<String> outputNames) {}

  private ModelFiles() {}

  public static boolean isZooUrl(String uri) {
    return uri.startsWith("djl://") || uri.startsWith("http://") || uri.startsWith("https://");
  }

  public static Resolved resolve(ModelSpec spec, boolean onGpu, Configuration hadoopConf) throws IOException {
    Path local = localCopy(spec.uri(), hadoopConf);
    Path file = Files.isDirectory(local) ? pickFile(local, spec.engine(), onGpu) : local;
    String engine = spec.engine().equals("auto") ? engineOf(file) : spec.engine();
    String name = spec.name().isEmpty() ? defaultName(spec.uri()) : spec.name();
    return new Resolved(file, engine, modelId(name, file), outputNames(file.getParent()));
  }

  /** {@code name@sha256:<hex of the model file>}: stored with every embedding. */
  public static String modelId(String name, Path file) throws IOException {
    return name + "@sha256:" + Digests.sha256(file);
  }

  static String defaultName(String uri) {
    String trimmed = uri.replaceAll("/+$", "");
    String last = trimmed.substring(Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf(':')) + 1);
    return last.replaceAll("\\.(onnx|pt|pth|torchscript)$", "");
  }

  private static Path localCopy(String uri, Configuration conf) throws IOException {
    if (uri.startsWith(EMBEDDED_PREFIX)) {
      return extractEmbedded(uri.substring(EMBEDDED_PREFIX.length()));
    }
    java.net.URI parsed = java.net.URI.create(uri);
    if (parsed.getScheme() == null || parsed.getScheme().equals("file")) {
      Path p = parsed.getScheme() == null ? Path.of(uri) : Path.of(parsed);
      if (!Files.exists(p)) {
        throw new IOException("model not found: " + uri);
      }
      return p;
    }
    Path dir = cacheDir().resolve("remote-" + Digests.sha256(uri.getBytes(StandardCharsets.UTF_8)));
    if (!Files.isDirectory(dir)) {
      download(uri, dir, conf);
    }
    try (Stream<Path> children = Files.list(dir)) {
      List<Path> entries = children.toList();
      return entries.size() == 1 ? entries.get(0) : dir;
    }
  }

  /**
   * Copies {@code uri} into a private directory, then renames it to {@code dir}. Executors sharing a host may
   * download the same model at once: the first rename wins and the others drop their copy.
   */
  static void download(String uri, Path dir, Configuration conf) throws IOException {
    Path tmp = Files.createTempDirectory(dir.getParent(), "download-");
    try {
      org.apache.hadoop.fs.Path src = new org.apache.hadoop.fs.Path(uri);
      src.getFileSystem(conf).copyToLocalFile(false, src, new org.apache.hadoop.fs.Path(tmp.toUri()), true);
      Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
    } catch (FileSystemException e) { // the JDK reports a rename onto a non-empty directory with this base type
      if (!Files.isDirectory(dir)) {
        throw e;
      }
    } finally {
      LocalFiles.deleteRecursively(tmp);
    }
  }

  private static Path extractEmbedded(String name) throws IOException {
    String base = "/imgvec/models/" + name + "/";
    if (ModelFiles.class.getResource(base + "README.md") == null) {
      throw new IOException("no embedded model named '" + name + "'; embedded: mobilenet_v2_nsfwjs");
    }
    Path dir = cacheDir().resolve("embedded-" + name);
    Files.createDirectories(dir);
    for (String f : List.of("model.onnx", "model.pt", "outputs.txt", "README.md", "LICENSE-nsfwjs")) {
      Path target = dir.resolve(f);
      try (InputStream in = ModelFiles.class.getResourceAsStream(base + f)) {
        if (in != null && !Files.exists(target)) {
          Path tmp = Files.createTempFile(dir, f, ".part");
          Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
          Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        }
      }
    }
    return dir;
  }

  private static Path cacheDir() throws IOException {
    String configured = System.getenv("IMGVEC_MODEL_CACHE");
    Path dir = configured != null ? Path.of(configured) : Path.of(System.getProperty("java.io.tmpdir"), "imgvec-models");
    return Files.createDirectories(dir);
  }

  private static Path pickFile(Path dir, String engine, boolean onGpu) throws IOException {
    List<Path> onnx = new ArrayList<>();
    List<Path> torch = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      files.forEach(f -> {
        String n = f.getFileName().toString().toLowerCase(Locale.ROOT);
        if (n.endsWith(".onnx")) {
          onnx.add(f);
        } else if (n.endsWith(".pt") || n.endsWith(".pth") || n.endsWith(".torchscript")) {
          torch.add(f);
        }
      });
    }
    boolean wantOnnx = engine.equals(ONNX) || (engine.equals("auto") && !onGpu && !onnx.isEmpty()) || torch.isEmpty();
    List<Path> candidates = wantOnnx ? onnx : torch;
    if (candidates.size() != 1) {
      throw new IOException("model directory " + dir + " must hold exactly one " + (wantOnnx ? ".onnx" : ".pt")
          + " file for engine " + engine + ", found " + candidates.size());
    }
    return candidates.get(0);
  }

  private static String engineOf(Path file) throws IOException {
    String n = file.getFileName().toString().toLowerCase(Locale.ROOT);
    if (n.endsWith(".onnx")) {
      return ONNX;
    }
    if (n.endsWith(".pt") || n.endsWith(".pth") || n.endsWith(".torchscript")) {
      return PYTORCH;
    }
    throw new IOException("cannot tell the engine of model file " + file
        + "; name it .onnx or .pt, or set model.engine (PyTorch|OnnxRuntime)");
  }

  private static List<String> outputNames(Path dir) throws IOException {
    Path sidecar = dir == null ? null : dir.resolve("outputs.txt");
    if (sidecar == null || !Files.exists(sidecar)) {
      return List.of();
    }
    return Files.readAllLines(sidecar).stream().map(String::trim).filter(s -> !s.isEmpty()).toList();
  }
}
