using System.Diagnostics;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Observability;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Driver.Grpc;

/// <summary>
/// Wraps every CSI call: maps domain failures to status codes, logs one line per call
/// (method, ids, duration, code; never the request body, so secrets stay out), records metrics, and tells
/// <see cref="CallActivity"/> when work starts and ends.
/// </summary>
public sealed class CsiCallInterceptor(ILogger<CsiCallInterceptor> logger, DriverMetrics metrics, CallActivity activity) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var method = MethodName(context.Method);
        var ids = request is IMessage message ? RequestFields.Identifiers(message) : [];
        var started = Stopwatch.GetTimestamp();
        var work = CallActivity.IsWork(context.Method);
        if (work)
        {
            activity.CallStarted();
        }
        metrics.RpcStarted(method);
        var code = StatusCode.OK;
        string? error = null;
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (StorageException ex)
        {
            code = StatusMapping.ToStatusCode(ex.Kind);
            error = StatusMapping.Bounded(ex.Message);
            if (code == StatusCode.Internal)
            {
                GrpcLog.CallCrashed(logger, ex, method);
            }
            throw StatusMapping.ToRpcException(ex);
        }
        catch (RpcException ex)
        {
            code = ex.StatusCode;
            error = StatusMapping.Bounded(ex.Status.Detail);
            if (error.Length != ex.Status.Detail.Length)
            {
                throw new RpcException(new Status(code, error));
            }
            throw;
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            code = context.Deadline < DateTime.UtcNow ? StatusCode.DeadlineExceeded : StatusCode.Cancelled;
            error = "the call was cancelled by the client";
            throw new RpcException(new Status(code, error));
        }
        catch (Exception ex)
        {
            code = StatusCode.Internal;
            error = StatusMapping.Bounded(ex.Message);
            GrpcLog.CallCrashed(logger, ex, method);
            throw new RpcException(new Status(StatusCode.Internal, error));
        }
        finally
        {
            var elapsed = Stopwatch.GetElapsedTime(started);
            metrics.RpcFinished(method, code.ToString(), elapsed);
            Log(method, ids, elapsed, code, error);
            if (work)
            {
                activity.CallEnded();
            }
        }
    }

    private void Log(string method, IReadOnlyList<KeyValuePair<string, string>> ids, TimeSpan elapsed, StatusCode code, string? error)
    {
        var level = code switch
        {
            StatusCode.OK => LogLevel.Information,
            StatusCode.Internal or StatusCode.Unknown or StatusCode.DataLoss => LogLevel.Error,
            _ => LogLevel.Warning,
        };
        if (!logger.IsEnabled(level))
        {
            return;
        }
        // Identity calls are polled constantly by sidecars; keep them out of info logs.
        if (code == StatusCode.OK && method is "Probe" or "GetPluginInfo" or "GetPluginCapabilities" or "NodeGetCapabilities" or "ControllerGetCapabilities")
        {
            level = LogLevel.Debug;
            if (!logger.IsEnabled(level))
            {
                return;
            }
        }
        var state = new List<KeyValuePair<string, object?>>
        {
            new("Method", method),
            new("Code", code.ToString()),
            new("DurationMs", Math.Round(elapsed.TotalMilliseconds, 1)),
        };
        foreach (var (name, value) in ids)
        {
            state.Add(new(ToPascal(name), value));
        }
        if (error is not null)
        {
            state.Add(new("Error", error));
        }
        var text = string.Join(' ', ids.Select(i => $"{i.Key}={i.Value}").Prepend(method)) + $" -> {code} in {elapsed.TotalMilliseconds:F1} ms"
            + (error is null ? string.Empty : $": {error}");
        logger.Log(level, default, new CallLogState(state, text), null, static (s, _) => s.Text);
    }

    private static string MethodName(string fullMethod) => fullMethod[(fullMethod.LastIndexOf('/') + 1)..];

    private static string ToPascal(string snake) =>
        string.Concat(snake.Split('_').Select(p => p.Length == 0 ? p : char.ToUpperInvariant(p[0]) + p[1..]));

    /// <summary>Structured state: JSON logs carry every field as a property, text logs show the message.</summary>
    private sealed class CallLogState(List<KeyValuePair<string, object?>> fields, string text) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public string Text => text;
        public KeyValuePair<string, object?> this[int index] => index < fields.Count ? fields[index] : new("{OriginalFormat}", text);
        public int Count => fields.Count + 1;
        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            for (var i = 0; i < Count; i++)
            {
                yield return this[i];
            }
        }
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
        public override string ToString() => text;
    }
}
