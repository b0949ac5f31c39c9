// Command ${{ values.name }}: ${{ values.description }}
package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"${{ values.destination.host }}/${{ values.destination.owner }}/${{ values.destination.repo }}/src/service"
)

func main() {
	logger := service.NewLogger(os.Stdout)
	slog.SetDefault(logger)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	tracer := service.NewTracerFromEnv("${{ values.name }}")
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	svc := service.New(logger, tracer)
	server := &http.Server{
		Addr:              ":" + port,
		Handler:           svc.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	go func() {
		logger.Info("listening", "addr", server.Addr)
		if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("server failed", "error", err)
			os.Exit(1)
		}
	}()
	svc.SetReady(true)
	<-ctx.Done()
	svc.SetReady(false)
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = server.Shutdown(shutdownCtx)
	_ = tracer.Shutdown(shutdownCtx)
}
