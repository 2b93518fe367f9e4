from calcard.cli import main

main()
