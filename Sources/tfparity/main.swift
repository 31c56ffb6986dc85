print("tfparity")
