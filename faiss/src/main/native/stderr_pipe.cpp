// Standard error through a pipe the JVM reads (NativeStderr): lines native libraries write to file descriptor 2
// (libpng's warnings, OpenCV's) can then be rewritten, e.g. as JSON log lines, before they reach the real stderr.
#include <jni.h>
#include <unistd.h>

extern "C" {

// Points fd 2 at a new pipe; returns {read end, a duplicate of the original stderr}, or null if that fails.
JNIEXPORT jintArray JNICALL Java_io_imgvec_faiss_NativeStderr_redirect(JNIEnv* env, jclass) {
  int fds[2];
  if (pipe(fds) != 0) {
    return nullptr;
  }
  int saved = dup(2);
  if (saved < 0 || dup2(fds[1], 2) < 0) {
    close(fds[0]);
    close(fds[1]);
    if (saved >= 0) {
      close(saved);
    }
    return nullptr;
  }
  close(fds[1]);  // fd 2 is now the pipe's only writer: restoring it ends the pipe
  jintArray out = env->NewIntArray(2);
  if (out == nullptr) {
    return nullptr;
  }
  jint values[2] = {fds[0], saved};
  env->SetIntArrayRegion(out, 0, 2, values);
  return out;
}

// Points fd 2 back at the original stderr, which closes the pipe's write end: its reader sees the end.
JNIEXPORT void JNICALL Java_io_imgvec_faiss_NativeStderr_restore(JNIEnv*, jclass, jint saved) {
  dup2(saved, 2);
}

}
