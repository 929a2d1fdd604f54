Console.WriteLine("TODO(issue 3): control-plane benchmark");
