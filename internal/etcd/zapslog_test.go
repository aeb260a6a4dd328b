package etcd

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func TestZapLoggerWritesToSlog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var closing atomic.Bool
	z := zapLogger(log, zapcore.WarnLevel, &closing).With(zap.String("member", "podyard"))

	z.Info("chatty")
	z.Warn("slow fdatasync", zap.Duration("took", 1500000000), zap.Error(errors.New("disk")))
	out := buf.String()
	if strings.Contains(out, "chatty") {
		t.Errorf("an info entry passed a warn minimum:\n%s", out)
	}
	for _, want := range []string{"level=WARN", `msg="slow fdatasync"`, "component=etcd", "member=podyard", "took=1.5s", "error=disk"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	z.Warn("simple token is not cryptographically signed")
	if !strings.Contains(buf.String(), `level=DEBUG msg="simple token is not cryptographically signed"`) {
		t.Errorf("a routine warning was not demoted to debug:\n%s", buf.String())
	}

	closing.Store(true)
	z.Warn("stopping secure grpc server due to error")
	if !strings.Contains(buf.String(), `level=DEBUG msg="stopping secure grpc server due to error"`) {
		t.Errorf("a warning while closing was not demoted to debug:\n%s", buf.String())
	}
	z.Error("serving failed", zap.Error(errors.New("use of closed network connection")))
	if !strings.Contains(buf.String(), `level=DEBUG msg="serving failed"`) {
		t.Errorf("an error while closing was not demoted to debug:\n%s", buf.String())
	}
}
