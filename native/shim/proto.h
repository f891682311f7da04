/* The wire protocol between the shim and the iommufd-emu server.
 * src/server/protocol.ts is the TypeScript side of this file; keep them equal.
 *
 * Two kinds of connection, both SOCK_STREAM to the server's socket:
 *  - a FILE connection per open(): the client's fd *is* this socket, so
 *    dup/fork/close/exec behave as they do for a real open file description;
 *    the server releases the emulated file when the connection closes.
 *  - one CHANNEL per client process: every ioctl travels here as a request
 *    naming the file by the socket inode of the client's end. A channel is
 *    private to one process, so a forked child and its parent never read each
 *    other's replies from a shared socket.
 * Every connection starts with a hello; every frame is fixed size and in host
 * byte order (the server runs on the same machine). */
#ifndef IOMMUFD_EMU_PROTO_H
#define IOMMUFD_EMU_PROTO_H
#include <stdint.h>

#define IEMU_MAGIC 0x554d4549u /* "IEMU" */
#define IEMU_VERSION 1

enum iemu_kind { IEMU_KIND_FILE = 1, IEMU_KIND_CHANNEL = 2, IEMU_KIND_QUERY = 3 };

/* First bytes on every connection, followed by path_len bytes of path (FILE). */
struct iemu_hello {
	uint32_t magic;
	uint16_t version;
	uint16_t kind;
	uint32_t pid;
	uint32_t tid;
	uint64_t ino;      /* FILE: socket inode of the client's end; CHANNEL: image cookie */
	uint32_t oflags;   /* FILE: open(2) flags */
	uint32_t path_len; /* FILE: bytes of path that follow, no NUL */
};

enum iemu_op { IEMU_OP_IOCTL = 1, IEMU_OP_FILE_INFO = 2 };

#define IEMU_INLINE 56

/* A request on a channel. */
struct iemu_req {
	uint32_t op;
	uint32_t pid;
	uint32_t tid;
	uint32_t request; /* the ioctl's cmd (the kernel takes unsigned int) */
	uint64_t arg;     /* the ioctl's argument, a pointer for struct ioctls */
	uint64_t ino;     /* which file: socket inode of the client's end */
	/* The first bytes at `arg`, read by the caller itself as the ioctl starts
	 * (0 when arg is not a readable address), so the server need not fetch a
	 * small struct from /proc/<pid>/mem. The server treats them as that read. */
	uint32_t inline_len;
	uint32_t __reserved;
	uint8_t inline_data[IEMU_INLINE];
};

/* Every reply: to a hello and to a request. */
struct iemu_reply {
	uint32_t magic;
	int32_t result; /* >= 0: the ioctl's result; < 0: -errno */
	uint64_t aux;   /* FILE hello / FILE_INFO: st_rdev of the emulated device */
};

_Static_assert(sizeof(struct iemu_hello) == 32, "hello is 32 bytes");
_Static_assert(sizeof(struct iemu_req) == 96, "request is 96 bytes");
_Static_assert(sizeof(struct iemu_reply) == 16, "reply is 16 bytes");

#endif
