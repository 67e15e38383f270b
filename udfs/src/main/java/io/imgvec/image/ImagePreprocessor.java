package io.imgvec.image;

import io.imgvec.config.ConfigException;
import org.opencv.core.Mat;
import org.opencv.core.Rect;
import org.opencv.core.Size;
import org.opencv.imgproc.Imgproc;

/**
 * Turns decoded pixels into a model input: shorter side resized to {@code resize}, center crop of
 * {@code inputSize}, RGB, scaled to [0,1], then {@code (x - mean) / std} per channel, as float CHW.
 */
public final class ImagePreprocessor {
  private final int resize;
  private final int inputSize;
  private final float[] mean;
  private final float[] invStd;

  public ImagePreprocessor(int resize, int inputSize, double[] mean, double[] std) {
    if (resize < inputSize) {
      throw new ConfigException("model.resize (" + resize + ") must be >= model.input-size (" + inputSize + ")");
    }
    this.resize = resize;
    this.inputSize = inputSize;
    this.mean = new float[3];
    this.invStd = new float[3];
    for (int c = 0; c < 3; c++) {
      this.mean[c] = (float) mean[c];
      this.invStd[c] = (float) (1.0 / std[c]);
    }
  }

  public int resize() {
    return resize;
  }

  public int inputSize() {
    return inputSize;
  }

  /** Elements in one input tensor (3 x inputSize x inputSize). */
  public int tensorLength() {
    return 3 * inputSize * inputSize;
  }

  /** Converts {@code bgr} into {@code out} (length {@link #tensorLength()}); does not release {@code bgr}. */
  public void toTensor(Mat bgr, float[] out) {
    double scale = (double) resize / Math.min(bgr.cols(), bgr.rows());
    int w = Math.max(inputSize, (int) Math.round(bgr.cols() * scale));
    int h = Math.max(inputSize, (int) Math.round(bgr.rows() * scale));
    Mat resized = new Mat();
    Imgproc.resize(bgr, resized, new Size(w, h), 0, 0, scale < 1 ? Imgproc.INTER_AREA : Imgproc.INTER_LINEAR);
    Mat crop = resized.submat(new Rect((w - inputSize) / 2, (h - inputSize) / 2, inputSize, inputSize)).clone();
    byte[] pixels = new byte[inputSize * inputSize * 3];
    crop.get(0, 0, pixels);
    resized.release();
    crop.release();
    int plane = inputSize * inputSize;
    for (int p = 0; p < plane; p++) {
      for (int c = 0; c < 3; c++) {
        float v = (pixels[p * 3 + (2 - c)] & 0xFF) / 255f;
        out[c * plane + p] = (v - mean[c]) * invStd[c];
      }
    }
  }
}
