package io.imgvec.image;

import org.opencv.core.Mat;

/**
 * Decoded 8-bit BGR pixels (possibly already scaled down by the decoder) and the source image's displayed size,
 * after EXIF orientation. The caller owns {@code bgr} and must release it.
 */
public record DecodedImage(Mat bgr, int sourceWidth, int sourceHeight) {}
