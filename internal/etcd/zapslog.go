package etcd

import (
	"context"
	"log/slog"
	"sort"
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// slogCore is a zap core that writes to an slog handler, so embedded etcd
// (which logs through zap) logs in Podyard's format and to its destination.
type slogCore struct {
	handler slog.Handler
	min     zapcore.Level
	attrs   []slog.Attr
	// closing is set once etcd is being stopped: its listeners then fail
	// by design, so their warnings and errors are logged at debug level.
	closing *atomic.Bool
}

// routineWarnings are etcd warnings that do not apply to a member embedded
// this way; they are logged at debug level. Its one client port serves only
// health checks and etcdctl (the API server calls etcd in-process), and
// etcd's own authentication, whose tokens the second is about, is off: the
// port accepts only the API server's client certificate instead.
var routineWarnings = map[string]bool{
	"Running http and grpc server on single port. This is not recommended for production.": true,
	"simple token is not cryptographically signed":                                         true,
}

// zapLogger returns a zap logger writing entries at min or above to log.
func zapLogger(log *slog.Logger, min zapcore.Level, closing *atomic.Bool) *zap.Logger {
	return zap.New(&slogCore{handler: log.Handler(), min: min, closing: closing})
}

func (c *slogCore) Enabled(l zapcore.Level) bool {
	return l >= c.min
}

func (c *slogCore) level(e zapcore.Entry) slog.Level {
	if e.Level >= zapcore.WarnLevel && (c.closing.Load() || routineWarnings[e.Message]) {
		return slog.LevelDebug
	}
	return slogLevel(e.Level)
}

func (c *slogCore) With(fields []zapcore.Field) zapcore.Core {
	clone := *c
	clone.attrs = append(append([]slog.Attr(nil), c.attrs...), attrsOf(fields)...)
	return &clone
}

func (c *slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) && c.handler.Enabled(context.Background(), c.level(e)) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *slogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	r := slog.NewRecord(e.Time, c.level(e), e.Message, 0)
	r.AddAttrs(slog.String("component", "etcd"))
	r.AddAttrs(c.attrs...)
	r.AddAttrs(attrsOf(fields)...)
	return c.handler.Handle(context.Background(), r)
}

func (c *slogCore) Sync() error { return nil }

// attrsOf turns zap fields into slog attributes, sorted by key so a line
// reads the same every time.
func attrsOf(fields []zapcore.Field) []slog.Attr {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fields {
		f.AddTo(enc)
	}
	keys := make([]string, 0, len(enc.Fields))
	for k := range enc.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	attrs := make([]slog.Attr, len(keys))
	for i, k := range keys {
		attrs[i] = slog.Any(k, enc.Fields[k])
	}
	return attrs
}

func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l >= zapcore.ErrorLevel:
		return slog.LevelError
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	default:
		return slog.LevelDebug
	}
}
