using System.CommandLine;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace CsiDriver.Cli;

/// <summary>Turns a command into one CSI call: connect, call with a deadline, print the response as JSON.</summary>
public static class CallCommand
{
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithIndentation());

    public delegate Task<IMessage> Call(ParseResult result, GrpcChannel channel, CallOptions options);

    public static Command WithCall(this Command command, Call call)
    {
        command.SetAction(async (result, cancellationToken) =>
        {
            var endpoint = result.GetValue(CommonOptions.Endpoint)!;
            try
            {
                using var channel = UnixSocketChannel.Create(endpoint);
                var options = new CallOptions(
                    deadline: DateTime.UtcNow + result.GetValue(CommonOptions.Timeout),
                    cancellationToken: cancellationToken);
                var response = await call(result, channel, options).ConfigureAwait(false);
                Console.Out.WriteLine(Json.Format(response));
                return 0;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable && ex.Status.DebugException is HttpRequestException connect)
            {
                // The HTTP layer names a placeholder authority; the socket is what the operator needs to see.
                var path = endpoint.StartsWith("unix://", StringComparison.Ordinal) ? endpoint["unix://".Length..] : endpoint;
                var reason = File.Exists(path)
                    ? connect.InnerException?.Message ?? connect.Message
                    : "the socket file does not exist (is csi-driver running with this --endpoint?)";
                await Console.Error.WriteLineAsync($"error: Unavailable: cannot connect to {endpoint}: {reason}").ConfigureAwait(false);
                return 1;
            }
            catch (RpcException ex)
            {
                await Console.Error.WriteLineAsync($"error: {ex.StatusCode}: {ex.Status.Detail}").ConfigureAwait(false);
                return 1;
            }
            catch (ArgumentException ex)
            {
                await Console.Error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
                return 2;
            }
        });
        return command;
    }
}
