/* The wire protocol between the shim and the iommufd-emu server.
 * src/server/protocol.ts is the TypeScript side of this file; keep them equal.
 *
 * Connections, all SOCK_STREAM to the server's socket, each starting with a hello:
 *  - a FILE connection per open(): the client's fd *is* this socket, so
 *    dup/fork/close/exec behave as they do for a real open file description;
 *    the server releases the emulated file when the connection closes.
 *    Nothing travels on it after the hello except wake bytes (below).
 *  - an ADOPT connection: a FILE connection for a file an ioctl created
 *    (REC_NEWFD); its hello carries the record's token instead of a path.
 *  - one CHANNEL per client process: every ioctl, read, write, mmap... travels
 *    here as a request naming the file by the socket inode of the client's
 *    end. A channel is private to one process, so a forked child and its
 *    parent never read each other's replies from a shared socket.
 *
 * Wake bytes (poll): while an emulated file is readable the server keeps one
 * byte queued on its FILE connection, so poll/select/epoll on the client's fd
 * see POLLIN with no help from the shim. read() is forwarded on the channel
 * (it never consumes that byte itself); when a reply to READ/WRITE carries
 * IEMU_AUX_DRAIN the file stopped being readable and the shim consumes the
 * byte (recv MSG_DONTWAIT).
 *
 * The channel page (since IEMU_VERSION 3): the shim may make its channel's
 * requests and take their replies through a page of shared memory instead of
 * the socket, so a round trip needs no wake-up of a sleeping process when both
 * sides are running. The shim creates a memfd of IEMU_PAGE_SIZE bytes, seals
 * it against shrinking and growing, maps it MAP_SHARED and names its fd in the
 * CHANNEL hello (oflags; IEMU_NO_PAGE for none). The server takes a copy of
 * that fd (pidfd_getfd: the access /proc/<pid>/mem needs), maps it if it is a
 * sealed memfd of that size, and says so in the hello's reply (aux
 * IEMU_AUX_PAGE); the shim then closes its fd. Without it, everything travels
 * on the socket as before. The same request and reply frames move through the
 * page (struct iemu_page):
 *  - request: the shim writes the frame and its extension at IEMU_PAGE_REQ,
 *    req_len, then req_seq+1 (a full fence); then, unless the server says it
 *    is polling the page, a DOORBELL frame on the socket (no reply).
 *  - reply: the server writes the frame and its records at IEMU_PAGE_REP,
 *    rep_len (IEMU_REP_ON_SOCKET when the reply did not fit and travels on
 *    the socket instead), then rep_seq = that request's req_seq (a full
 *    fence), and FUTEX_WAKEs rep_seq if client_sleeping.
 *  - the shim spins a little on rep_seq, then sets client_sleeping and
 *    FUTEX_WAITs (not private: the page is shared between processes).
 * A request that does not fit in the area travels on the socket, and so does
 * its reply. The server copies a request out of the page before it reads it
 * (the client may write the page at any time).
 *
 * Foreign ioctls (since IEMU_VERSION 5): the environment's IOMMUFD_EMU_FOREIGN
 * lists request numbers (':'-separated, e.g. 0x4018aee1) the server wants to
 * see even on fds the shim does not own. The shim knows nothing of what they
 * mean: such an ioctl on any other fd becomes an IEMU_OP_FOREIGN request
 * naming the fd by its number; the reply either is the call's answer (result
 * and records, as for IOCTL) or has IEMU_AUX_KERNEL, and then the shim makes
 * the real ioctl (as it does when the server cannot be reached).
 *
 * Frames are in host byte order (the server runs on the same machine). A
 * request may be followed by ext_len bytes; a reply by ext_len bytes of
 * records (struct iemu_rec, each padded to 8 bytes). */
#ifndef IOMMUFD_EMU_PROTO_H
#define IOMMUFD_EMU_PROTO_H
#include <stdint.h>

#define IEMU_MAGIC 0x554d4549u /* "IEMU" */
#define IEMU_VERSION 5

enum iemu_kind { IEMU_KIND_FILE = 1, IEMU_KIND_CHANNEL = 2, IEMU_KIND_QUERY = 3, IEMU_KIND_ADOPT = 4 };

/* First bytes on every connection, followed by path_len bytes of path (FILE)
 * or of the 8-byte token (ADOPT). */
struct iemu_hello {
	uint32_t magic;
	uint16_t version;
	uint16_t kind;
	uint32_t pid;
	uint32_t tid;
	uint64_t ino;      /* FILE/ADOPT: socket inode of the client's end; CHANNEL: image cookie */
	uint32_t oflags;   /* FILE: open(2) flags; CHANNEL: fd of the channel page's memfd, or IEMU_NO_PAGE */
	uint32_t path_len; /* FILE: bytes of path that follow, no NUL; ADOPT: 8 */
};

enum iemu_op {
	IEMU_OP_IOCTL = 1,     /* request: cmd; arg: argument; inline: first bytes at arg */
	IEMU_OP_FILE_INFO = 2, /* reply aux: st_rdev */
	IEMU_OP_READ = 3,      /* request: length; arg: buffer; a[0]: pread offset (0 for read); a[1]: 1 for
				* pread; a[2]: 1 for a trapped load of a mapping (REC_TRAP) */
	IEMU_OP_WRITE = 4,     /* request: length; arg: buffer; a[0]: offset; ext: the bytes at buffer;
				* a[1], a[2] as READ's */
	IEMU_OP_MMAP = 5,      /* arg: offset; a[0]: length; a[1]: prot; a[2]: flags; reply: mapping id, REC_PATH */
	IEMU_OP_MUNMAP = 6,    /* arg: mapping id: the last piece of that mapping is gone */
	IEMU_OP_MMAP_DUP = 7,  /* arg: a mapping id; a[0]: the pid of a child fork() just made, which holds a copy */
	IEMU_OP_RESOLVE = 8,   /* ext: a control path; reply: REC_PATH of the file that stands for it
				* (the path itself: open the real file, e.g. the status of a process
				* the server does not know) */
	IEMU_OP_CLOSED = 9,    /* ino: a file this process just closed an fd of; the reply comes once
				* the server has seen the release that close caused, if it did */
	IEMU_OP_DOORBELL = 10, /* a request waits in the channel page; no reply */
	IEMU_OP_FOREIGN = 11,  /* an ioctl on an fd we do not own: ino is the fd number, the rest as IOCTL;
				* reply aux IEMU_AUX_KERNEL: make the real ioctl */
};
#define IEMU_OP_MASK 0xffffu
/* Or'd into op: a write the server left to us (REC_WRITE) faulted since the
 * last request, so its snapshot of our mappings is stale. */
#define IEMU_REQ_MAPS_STALE 0x10000u

/* 120: the largest struct a hot ioctl passes (the test ABI's 72-byte
 * iommu_test_cmd, VFIO's region and irq infos) comes whole. */
#define IEMU_INLINE 120

/* A request on a channel. */
struct iemu_req {
	uint32_t op;
	uint32_t pid;
	uint32_t tid;
	uint32_t request; /* the ioctl's cmd (the kernel takes unsigned int), or a length */
	uint64_t arg;     /* the ioctl's argument, a pointer for struct ioctls */
	uint64_t ino;     /* which file: socket inode of the client's end */
	/* IOCTL: the first bytes at `arg`, read by the caller itself as the ioctl
	 * starts (0 when arg is not a readable address), so the server need not
	 * fetch a small struct from /proc/<pid>/mem. Other ops: uint64_t a[7]. */
	uint32_t inline_len;
	uint32_t ext_len; /* bytes following this frame */
	union {
		uint8_t inline_data[IEMU_INLINE];
		uint64_t a[IEMU_INLINE / 8];
	};
};

/* Every reply: to a hello and to a request. */
struct iemu_reply {
	uint32_t magic;
	int32_t result;   /* >= 0: the call's result; < 0: -errno */
	uint32_t aux;     /* FILE/ADOPT hello, FILE_INFO: st_rdev; QUERY: server pid; READ/WRITE: IEMU_AUX_* */
	uint32_t ext_len; /* bytes of records following this frame */
};
#define IEMU_AUX_DRAIN 1u
/* The reply to FOREIGN: not the server's to answer; the kernel's call. */
#define IEMU_AUX_KERNEL 1u
/* The reply to a CHANNEL hello: the server maps the channel page. */
#define IEMU_AUX_PAGE 1u
#define IEMU_NO_PAGE 0xffffffffu

/* The channel page's header; the request area follows it, the reply area is
 * the page's second half. Each word is written by one side only. */
struct iemu_page {
	uint32_t req_seq;         /* shim: sequence number of the request in the request area */
	uint32_t req_len;         /* shim: its bytes (frame and extension) */
	uint32_t rep_seq;         /* server: req_seq of the request answered in the reply area (futex word) */
	uint32_t rep_len;         /* server: the reply's bytes, or IEMU_REP_ON_SOCKET */
	uint32_t server_polling;  /* server: 1 while it polls req_seq (no doorbell needed) */
	uint32_t client_sleeping; /* shim: 1 while it sleeps on rep_seq (the server wakes it) */
	uint32_t pad[10];
};
#define IEMU_PAGE_SIZE 65536u
#define IEMU_PAGE_REQ 64u
#define IEMU_PAGE_REQ_MAX (IEMU_PAGE_SIZE / 2 - IEMU_PAGE_REQ)
#define IEMU_PAGE_REP (IEMU_PAGE_SIZE / 2)
#define IEMU_PAGE_REP_MAX (IEMU_PAGE_SIZE / 2)
#define IEMU_REP_ON_SOCKET 0xffffffffu

/* A record in a reply's extension, in the order the shim must carry them out. */
struct iemu_rec {
	uint16_t type;
	uint16_t flags;
	uint32_t size; /* payload bytes after this header (the record is padded to 8) */
	uint64_t addr;
};
enum iemu_rec_type {
	/* Copy the payload to addr in the caller's memory (process_vm_writev, so
	 * page protections hold); a fault turns a non-negative result into -EFAULT. */
	IEMU_REC_WRITE = 1,
	/* Open an ADOPT connection (O_CLOEXEC when flags has IEMU_NEWFD_CLOEXEC)
	 * with the payload's u64 token; write the new fd (s32) at addr. If that
	 * fails the fd is closed and the result becomes -EFAULT (or -errno). */
	IEMU_REC_NEWFD = 2,
	/* A path (payload, no NUL): MMAP's backing file, RESOLVE's answer. */
	IEMU_REC_PATH = 3,
	/* MMAP's answer for memory with side effects (a device's registers):
	 * no backing file. The shim reserves the range with no access and
	 * carries out each load or store the program makes there as a READ or
	 * WRITE of the mapped file at the mapping's offset plus the distance
	 * into the range (payload: none). */
	IEMU_REC_TRAP = 4,
};
#define IEMU_NEWFD_CLOEXEC 1u
/* REC_NEWFD: the new fd becomes the call's result (a non-negative result is
 * replaced; addr is unused), for ioctls that return an fd (the selftest's
 * DMABUF_GET). */
#define IEMU_NEWFD_RESULT 2u

_Static_assert(sizeof(struct iemu_hello) == 32, "hello is 32 bytes");
_Static_assert(sizeof(struct iemu_req) == 160, "request is 160 bytes");
_Static_assert(sizeof(struct iemu_reply) == 16, "reply is 16 bytes");
_Static_assert(sizeof(struct iemu_rec) == 16, "record header is 16 bytes");
_Static_assert(sizeof(struct iemu_page) == IEMU_PAGE_REQ, "page header is 64 bytes");

#endif
