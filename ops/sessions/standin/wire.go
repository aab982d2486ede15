package standin

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The Session Manager data channel frames every message as a fixed
// 116-byte header and a payload (see aws/session-manager-plugin
// src/message): header length, message type (32 bytes, space padded),
// schema version, created date (ms), sequence number, flags, message id
// (UUID as least- then most-significant 64 bits), SHA-256 of the payload,
// payload type, payload length. All integers are big-endian.
const (
	offMessageType = 4
	offSchema      = offMessageType + 32
	offCreated     = offSchema + 4
	offSeq         = offCreated + 8
	offFlags       = offSeq + 8
	offMessageID   = offFlags + 8
	offDigest      = offMessageID + 16
	offPayloadType = offDigest + 32
	offPayloadLen  = offPayloadType + 4
	headerLen      = offPayloadLen // what the HL field holds
	payloadStart   = offPayloadLen + 4
)

// Message types and payload types of the data channel.
const (
	msgInput         = "input_stream_data"
	msgOutput        = "output_stream_data"
	msgAck           = "acknowledge"
	msgChannelClosed = "channel_closed"

	ptOutput            = 1
	ptSize              = 3
	ptHandshakeRequest  = 5
	ptHandshakeResponse = 6
	ptHandshakeComplete = 7
	ptFlag              = 10

	flagTerminateSession   = 2
	flagConnectToPortError = 3
)

type frame struct {
	Type        string
	Seq         int64
	Flags       uint64
	ID          [16]byte
	PayloadType uint32
	Payload     []byte
}

func newID() [16]byte {
	var id [16]byte
	_, _ = rand.Read(id[:])
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return id
}

// uuidString formats id as 8-4-4-4-12 hex, as the plugin does.
func uuidString(id [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:16])
}

func (f frame) encode() []byte {
	b := make([]byte, payloadStart+len(f.Payload))
	binary.BigEndian.PutUint32(b[0:], headerLen)
	copy(b[offMessageType:offSchema], bytes.Repeat([]byte{' '}, 32))
	copy(b[offMessageType:offSchema], f.Type)
	binary.BigEndian.PutUint32(b[offSchema:], 1)
	binary.BigEndian.PutUint64(b[offCreated:], uint64(time.Now().UnixMilli()))
	binary.BigEndian.PutUint64(b[offSeq:], uint64(f.Seq))
	binary.BigEndian.PutUint64(b[offFlags:], f.Flags)
	copy(b[offMessageID:], f.ID[8:16]) // least significant half first
	copy(b[offMessageID+8:], f.ID[0:8])
	sum := sha256.Sum256(f.Payload)
	copy(b[offDigest:], sum[:])
	binary.BigEndian.PutUint32(b[offPayloadType:], f.PayloadType)
	binary.BigEndian.PutUint32(b[offPayloadLen:], uint32(len(f.Payload)))
	copy(b[payloadStart:], f.Payload)
	return b
}

func decode(b []byte) (frame, error) {
	var f frame
	if len(b) < payloadStart {
		return f, errors.New("data channel frame shorter than its header")
	}
	hl := binary.BigEndian.Uint32(b[0:])
	f.Type = strings.TrimSpace(string(bytes.Trim(b[offMessageType:offSchema], "\x00")))
	f.Seq = int64(binary.BigEndian.Uint64(b[offSeq:]))
	f.Flags = binary.BigEndian.Uint64(b[offFlags:])
	copy(f.ID[8:16], b[offMessageID:])
	copy(f.ID[0:8], b[offMessageID+8:])
	f.PayloadType = binary.BigEndian.Uint32(b[offPayloadType:])
	n := binary.BigEndian.Uint32(b[offPayloadLen:])
	start := int(hl) + 4
	if start > len(b) || start+int(n) > len(b) {
		return f, errors.New("data channel frame payload out of bounds")
	}
	f.Payload = b[start : start+int(n)]
	if n > 0 {
		sum := sha256.Sum256(f.Payload)
		if !bytes.Equal(sum[:], b[offDigest:offDigest+32]) {
			return f, errors.New("data channel frame digest mismatch")
		}
	}
	return f, nil
}
