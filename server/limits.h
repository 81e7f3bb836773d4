/*
 * Every limit on something that grows, in one place (STYLE.md rule 9).
 */
#ifndef TERN_SERVER_LIMITS_H
#define TERN_SERVER_LIMITS_H

enum server_limits {
	/* datagrams read or written by one recvmmsg/sendmmsg call */
	UDP_BATCH = 32,
	/* kernel buffers asked for each UDP listener: bursts must not overflow */
	UDP_SOCKBUF = 4 * 1024 * 1024,
	/* largest datagram we accept; bigger ones are truncated and dropped */
	UDP_MAX_DATAGRAM = 65536,
	/* open TCP/TLS connections per worker; accept pauses beyond it */
	STREAM_MAX_PER_WORKER = 16384,
	/* a peer that leaves this much unread output is disconnected */
	STREAM_MAX_OUTPUT = 256 * 1024,
	/* a stream peer that takes none of our output for this long is gone
	 * (the other deadlines are options: stream-handshake-timeout,
	 * stream-idle-timeout; the caps too: max-stream-connections*) */
	STREAM_WRITE_STALL_SECONDS = 300,
	/* connections the kernel queues for accept() per listening socket
	 * (capped by net.core.somaxconn): a burst must not overflow it, or
	 * clients hang in a handshake the kernel never finishes */
	STREAM_BACKLOG = 4096,
	/* a WebSocket closed by the server waits this long (ms) for the
	 * client's end once its close frame is written */
	STREAM_LINGER_MS = 1000,
	/* accept() failing with EMFILE pauses accepting for this long (ms) */
	ACCEPT_BACKOFF_MS = 500,
	/* peers waiting to be accepted by one TCP allocation (RFC 6062) */
	TCP_RELAY_BACKLOG = 16,
	/* a joined RFC 6062 pair stops reading one side while the other has
	 * this much unsent */
	SPLICE_MAX_OUTPUT = 256 * 1024,
	/* worker threads */
	WORKERS_MAX = 256,
	/* listening sockets per worker (ips x ports x transports) */
	LISTENERS_MAX = 64,
};

#endif
