// Runs FlatBuffers' own C++ Verifier (what ExecuTorch's Program::load runs with full verification)
// over the flatbuffer of a .pte or .ptd. Built by FlatcJsonTest against flatc --cpp output.
// Usage: verify_flatbuffer FILE   (exit 0 and "OK" when the verifier accepts it)
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "flat_tensor_generated.h"
#include "program_generated.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  std::ifstream in(argv[1], std::ios::binary);
  std::vector<uint8_t> head(64);
  in.read(reinterpret_cast<char*>(head.data()), head.size());
  bool ptd = std::memcmp(head.data() + 4, "FT01", 4) == 0;
  uint64_t size = 0;
  if (ptd) {  // FH01 header: flatbuffer_offset + flatbuffer_size
    uint64_t offset = 0, bytes = 0;
    std::memcpy(&offset, head.data() + 16, 8);
    std::memcpy(&bytes, head.data() + 24, 8);
    size = offset + bytes;
  } else {  // eh00 header: program_size
    std::memcpy(&size, head.data() + 16, 8);
  }
  std::vector<uint8_t> buf(size);
  in.seekg(0);
  in.read(reinterpret_cast<char*>(buf.data()), size);
  flatbuffers::Verifier verifier(buf.data(), size);
  bool ok = ptd ? flat_tensor_flatbuffer::VerifyFlatTensorBuffer(verifier)
                : executorch_flatbuffer::VerifyProgramBuffer(verifier);
  std::printf("%s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
