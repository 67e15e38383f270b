package io.imgvec.model;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.engine.Engine;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.NoopTranslator;
import ai.djl.translate.TranslateException;
import io.imgvec.natives.NativeLibraries;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A loaded model that turns batches of preprocessed tensors into embeddings. The model is shared; each thread works
 * through its own {@link Session} (DJL predictors are not thread-safe, models are).
 */
public final class Embedder implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Embedder.class);

  private final ModelSpec spec;
  private final ZooModel<NDList, NDList> model;
  private final String modelId;
  private final String engine;
  private final Device device;
  private final List<String> outputNames;

  private Embedder(ModelSpec spec, ZooModel<NDList, NDList> model, String modelId, String engine, Device device,
      List<String> outputNames) {
    this.spec = spec;
    this.model = model;
    this.modelId = modelId;
    this.engine = engine;
    this.device = device;
    this.outputNames = outputNames;
  }

  /**
   * Loads the model on {@code gpuIndex} (negative = CPU). A GPU the engine cannot see falls back to CPU with a
   * warning, so a misconfigured cluster still produces embeddings.
   */
  public static Embedder load(ModelSpec spec, int gpuIndex, Configuration hadoopConf) throws IOException {
    configureDjl(spec);
    NativeLibraries.useCachedOnnxRuntime();
    boolean zoo = ModelFiles.isZooUrl(spec.uri());
    ModelFiles.Resolved resolved = zoo ? null : ModelFiles.resolve(spec, gpuIndex >= 0, hadoopConf);
    String engine = zoo ? (spec.engine().equals("auto") ? ModelFiles.PYTORCH : spec.engine()) : resolved.engine();
    Device device = chooseDevice(engine, gpuIndex);
    if (engine.equals(ModelFiles.PYTORCH) && spec.threads() > 0) {
      // libtorch reads these once, when the engine starts in this JVM.
      System.setProperty("ai.djl.pytorch.num_threads", String.valueOf(spec.threads()));
      System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
    }
    Criteria.Builder<NDList, NDList> criteria = Criteria.builder()
        .setTypes(NDList.class, NDList.class)
        .optEngine(engine)
        .optDevice(device)
        .optTranslator(new NoopTranslator());
    if (zoo) {
      criteria.optModelUrls(spec.uri());
    } else {
      criteria.optModelPath(resolved.file());
    }
    if (engine.equals(ModelFiles.ONNX) && spec.threads() > 0) {
      criteria.optOption("intraOpNumThreads", String.valueOf(spec.threads())).optOption("interOpNumThreads", "1");
    }
    ZooModel<NDList, NDList> model;
    try {
      model = criteria.build().loadModel();
    } catch (ModelNotFoundException | MalformedModelException e) {
      throw new IOException("cannot load model " + spec.uri() + " with engine " + engine + ": " + e.getMessage(), e);
    }
    String name = spec.name().isEmpty() ? ModelFiles.defaultName(spec.uri()) : spec.name();
    String modelId = zoo ? ModelFiles.modelId(name, zooModelFile(model.getModelPath())) : resolved.modelId();
    List<String> outputs = zoo ? List.of() : resolved.outputNames();
    LOG.info("loaded model " + modelId + " on " + engine + "/" + device);
    return new Embedder(spec, model, modelId, engine, device, outputs);
  }

  /**
   * DJL reads these once, when its engines start in this JVM: set here, where every JVM that loads a model passes
   * (executors included), rather than on the driver's command line. ONNX Runtime never falls back to PyTorch for
   * array operations (none are used), so an executor without libtorch never tries to download it.
   */
  private static void configureDjl(ModelSpec spec) {
    if (System.getProperty("ai.djl.offline") == null) {
      System.setProperty("ai.djl.offline", String.valueOf(spec.djlOffline()));
    }
    if (System.getenv("DJL_CACHE_DIR") == null && System.getProperty("DJL_CACHE_DIR") == null) {
      System.setProperty("DJL_CACHE_DIR", spec.djlCacheDir().isEmpty()
          ? Path.of(System.getProperty("java.io.tmpdir"), "imgvec-djl").toString() : spec.djlCacheDir());
    }
    System.setProperty("ai.djl.onnx.disable_alternative", "true");
  }

  private static Device chooseDevice(String engine, int gpuIndex) {
    if (gpuIndex < 0) {
      return Device.cpu();
    }
    int visible = Engine.getEngine(engine).getGpuCount();
    if (gpuIndex >= visible) {
      LOG.warn("GPU " + gpuIndex + " requested but engine " + engine + " sees " + visible
          + " GPU(s); falling back to CPU");
      return Device.cpu();
    }
    return Device.gpu(gpuIndex);
  }

  private static Path zooModelFile(Path modelDir) throws IOException {
    try (Stream<Path> files = Files.walk(modelDir)) {
      return files.filter(f -> f.toString().endsWith(".pt") || f.toString().endsWith(".onnx")).findFirst()
          .orElseThrow(() -> new IOException("no model file under " + modelDir));
    }
  }

  public String modelId() {
    return modelId;
  }

  public String engine() {
    return engine;
  }

  public Device device() {
    return device;
  }

  public ModelSpec spec() {
    return spec;
  }

  public Session newSession() {
    return new Session(model.newPredictor());
  }

  @Override
  public void close() {
    model.close();
  }

  /** One thread's handle on the shared model. */
  public final class Session implements InferenceSession {
    private final Predictor<NDList, NDList> predictor;

    private Session(Predictor<NDList, NDList> predictor) {
      this.predictor = predictor;
    }

    /**
     * Embeds {@code count} tensors laid out one after another in {@code batch}; returns one vector per tensor.
     */
    @Override
    public float[][] embed(float[] batch, int count) throws TranslateException {
      int side = spec.inputSize();
      try (NDManager manager = model.getNDManager().newSubManager(device)) {
        NDArray input = manager.create(FloatBuffer.wrap(batch, 0, count * 3 * side * side),
            new Shape(count, 3, side, side));
        NDList outputs = predictor.predict(new NDList(input));
        // Only the model runs in the engine: reading the output and normalising it happen here, so ONNX Runtime
        // never needs an alternative engine (PyTorch) for array operations it lacks.
        float[] flat = floats(requireVector(pickOutput(outputs), count));
        int dim = flat.length / count;
        float[][] out = new float[count][];
        for (int i = 0; i < count; i++) {
          out[i] = Arrays.copyOfRange(flat, i * dim, (i + 1) * dim);
          if (spec.l2Normalize()) {
            normalise(out[i]);
          }
        }
        return out;
      }
    }

    private NDArray pickOutput(NDList outputs) {
      String wanted = spec.output();
      if (wanted.matches("\\d+")) {
        int index = Integer.parseInt(wanted);
        if (index >= outputs.size()) {
          throw new IllegalArgumentException("model.output=" + index + " but the model has " + outputs.size()
              + " outputs");
        }
        return outputs.get(index);
      }
      int sidecarIndex = outputNames.indexOf(wanted);
      if (sidecarIndex >= 0 && sidecarIndex < outputs.size()) {
        return outputs.get(sidecarIndex);
      }
      NDArray named = outputs.get(wanted);
      if (named == null) {
        throw new IllegalArgumentException("model has no output named '" + wanted + "'; outputs: "
            + describe(outputs) + "; set model.output to a name or a 0-based index");
      }
      return named;
    }

    private static float[] floats(NDArray output) {
      if (output.getDataType() == DataType.FLOAT32) {
        return output.toFloatArray();
      }
      Number[] values = output.toArray();
      float[] out = new float[values.length];
      for (int i = 0; i < values.length; i++) {
        out[i] = values[i].floatValue();
      }
      return out;
    }

    private static void normalise(float[] v) {
      double norm = 0;
      for (float x : v) {
        norm += x * x;
      }
      float scale = (float) (1 / Math.max(Math.sqrt(norm), 1e-12));
      for (int i = 0; i < v.length; i++) {
        v[i] *= scale;
      }
    }

    /** An output per image that is a vector: [n, d] or [n, d, 1, 1] (pooled), not a feature map. */
    private NDArray requireVector(NDArray output, int count) {
      long[] shape = output.getShape().getShape();
      long wide = Arrays.stream(shape).skip(1).filter(size -> size > 1).count();
      if (shape.length == 0 || shape[0] != count || wide > 1) {
        throw new IllegalArgumentException("model.output=" + spec.output() + " has shape " + output.getShape()
            + " for " + count + " image(s): not one vector per image; pick a pooled output");
      }
      return output;
    }

    private String describe(NDList outputs) {
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < outputs.size(); i++) {
        NDArray a = outputs.get(i);
        sb.append(i == 0 ? "" : ", ").append(i).append('=').append(a.getName() == null ? "?" : a.getName())
            .append(a.getShape());
      }
      return sb.toString();
    }

    @Override
    public void close() {
      predictor.close();
    }
  }
}
