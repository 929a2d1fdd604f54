using System.Net.Sockets;

namespace CsiDriver.Host;

/// <summary>Prepares the unix socket path: removes a stale file, refuses when a live process serves it.</summary>
public static class SocketEndpoint
{
    public static void Prepare(string socketPath)
    {
        var directory = Path.GetDirectoryName(socketPath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
        if (!File.Exists(socketPath))
        {
            return;
        }
        if (IsServed(socketPath))
        {
            throw new InvalidOperationException($"another process is already serving {socketPath}; refusing to start");
        }
        // Left behind by a process that died: nobody answers on it, so it is safe to replace.
        File.Delete(socketPath);
    }

    public static bool IsServed(string socketPath)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
